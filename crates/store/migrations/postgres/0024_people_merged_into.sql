-- The records merged into a person, found by index: a merge or unmerge locks the mobiles of
-- every record merged into its two people (those mobiles still name them), and an erasure
-- walks the same records. Partial: only merged records (few) have an entry, so enrolments and
-- loads, whose people are never merged, write nothing here.
CREATE INDEX IF NOT EXISTS people_merged_into ON people (merged_into) WHERE merged_into IS NOT NULL;
