-- A name search within an AC (or a sector or booth of it) finds people through the search index all over
-- the state, then keeps those who are members in the AC. Through the (person_id, wing_id) index
-- each found person's membership row had to be read to learn its AC: at 18 M members a common
-- short name matches thousands of people state-wide, and those reads were a third of the
-- search's time. With the AC beside the person in this index, "a member in this AC?" is one
-- seek in the index, and only the members there are read. (IF NOT EXISTS: it can be built by
-- hand on a large database ahead of an upgrade.)
CREATE INDEX IF NOT EXISTS memberships_person_ac ON memberships (person_id, ac_id);
