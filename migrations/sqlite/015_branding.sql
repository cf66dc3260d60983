-- The verification page is the operator's (README "Branding and languages"): per environment, the
-- name shown as the page's heading and title, the logo's URL (the page's Content-Security-Policy
-- admits its origin for images), the primary colour of buttons and links (#rgb or #rrggbb) and the
-- "Need help?" link. NULL: the product's own. src/core/branding.ts checks each value before it is
-- stored; the CHECKs keep what no check would let through out of the table all the same.
ALTER TABLE environments ADD COLUMN display_name TEXT CHECK (display_name IS NULL OR length(display_name) BETWEEN 1 AND 100);
ALTER TABLE environments ADD COLUMN logo_url TEXT CHECK (logo_url IS NULL OR logo_url GLOB 'http*://*');
ALTER TABLE environments ADD COLUMN primary_color TEXT
  CHECK (primary_color IS NULL OR primary_color GLOB '#[0-9a-f][0-9a-f][0-9a-f]' OR primary_color GLOB '#[0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f]');
ALTER TABLE environments ADD COLUMN support_url TEXT CHECK (support_url IS NULL OR support_url GLOB 'http*://*');
