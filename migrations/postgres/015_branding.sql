-- The verification page is the operator's (README "Branding and languages"): the PostgreSQL form
-- of migrations/sqlite/015_branding.sql (the same columns and checks). NULL: the product's own.
ALTER TABLE environments ADD COLUMN display_name text CHECK (display_name IS NULL OR char_length(display_name) BETWEEN 1 AND 100);
ALTER TABLE environments ADD COLUMN logo_url text CHECK (logo_url IS NULL OR logo_url ~ '^https?://');
ALTER TABLE environments ADD COLUMN primary_color text CHECK (primary_color IS NULL OR primary_color ~ '^#([0-9a-f]{3}|[0-9a-f]{6})$');
ALTER TABLE environments ADD COLUMN support_url text CHECK (support_url IS NULL OR support_url ~ '^https?://');
