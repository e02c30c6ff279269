-- Name search across scripts: the joined search key (sangathan_core::search::joined_key) of
-- every person, indexed by trigrams (pg_trgm) for substring matches and by a b-tree for keys
-- too short for trigrams.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
ALTER TABLE people ADD COLUMN search_key TEXT NOT NULL DEFAULT '';
CREATE INDEX people_search_key ON people (search_key text_pattern_ops);
CREATE INDEX people_search_trgm ON people USING gin (search_key gin_trgm_ops);
