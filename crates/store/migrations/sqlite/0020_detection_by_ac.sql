-- Fake-member detection counts each enroller's members per AC (padding, rejection rates). Through
-- memberships_ac that read every membership row of the ACs, scattered over the whole table: at
-- 18 M members one pass over 20 ACs took ~10 s, and a run made 42 of them. This index holds
-- every column those counts read (channel too, or SQLite would still read each row), so they
-- are answered from the index alone, in its order. Sheets' rows (imports) are never counted, so
-- they are left out of it.
CREATE INDEX memberships_ac_enroller ON memberships (ac_id, enrolled_by, status, channel) WHERE channel NOT IN ('import', 'web-import');
