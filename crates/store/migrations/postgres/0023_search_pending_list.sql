-- New people's trigrams wait in the search index's pending list until it is merged into the
-- index, and every name search reads the whole list: at 18.1 M people, a list of 356 pages
-- (a few thousand enrolments) added ~3.5 ms to the median AC-scoped search (13.6 against
-- 10.1 ms once merged). A 1 MB list (128 pages; the default is 4 MB) bounds that cost at about
-- a millisecond; inserts merge it four times as often, a quarter as much each time. The
-- setting is part of the index's definition, so a first load that rebuilds it keeps it.
ALTER INDEX people_search_trgm SET (gin_pending_list_limit = 1024);
