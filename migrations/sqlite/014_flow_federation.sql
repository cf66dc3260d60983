-- An upstream sign-in under way on a verification flow (federation, README "Sign in with your
-- organisation"): the keyed hash of its `state` (the callback finds the flow by it) and what the
-- callback needs, encrypted with the server secret (provider, state, nonce, PKCE verifier). The
-- callback that completes it clears both in one conditional write, so a replay finds nothing.
ALTER TABLE flows ADD COLUMN idp_state_hash TEXT;
ALTER TABLE flows ADD COLUMN idp_pending TEXT;
CREATE INDEX flows_idp_state ON flows(idp_state_hash) WHERE idp_state_hash IS NOT NULL;
