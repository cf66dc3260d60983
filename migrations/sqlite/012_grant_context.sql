-- Where each grant was requested and last used ("Your devices"): the device authorization's request
-- context, copied to its grant at redemption, and the context of the latest refresh. JSON
-- RequestContext; null for grants from before, or when nothing was known.
ALTER TABLE grants ADD COLUMN request_context TEXT;
ALTER TABLE grants ADD COLUMN last_used_context TEXT;
