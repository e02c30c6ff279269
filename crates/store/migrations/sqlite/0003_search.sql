-- Name search across scripts: the joined search key (sangathan_core::search::joined_key) of
-- every person, indexed by trigrams (FTS5's trigram tokenizer) for substring matches and by a
-- b-tree for keys too short for trigrams.
ALTER TABLE people ADD COLUMN search_key TEXT NOT NULL DEFAULT '';
CREATE INDEX people_search_key ON people (search_key);

CREATE VIRTUAL TABLE people_fts USING fts5(search_key, content = 'people', content_rowid = 'id', tokenize = 'trigram');

CREATE TRIGGER people_fts_insert AFTER INSERT ON people BEGIN
    INSERT INTO people_fts (rowid, search_key) VALUES (new.id, new.search_key);
END;
CREATE TRIGGER people_fts_delete AFTER DELETE ON people BEGIN
    INSERT INTO people_fts (people_fts, rowid, search_key) VALUES ('delete', old.id, old.search_key);
END;
CREATE TRIGGER people_fts_update AFTER UPDATE OF search_key ON people BEGIN
    INSERT INTO people_fts (people_fts, rowid, search_key) VALUES ('delete', old.id, old.search_key);
    INSERT INTO people_fts (rowid, search_key) VALUES (new.id, new.search_key);
END;
