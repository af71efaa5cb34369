-- Entry ids in blocks of 1,024: the posting engine draws one nextval per block of its batch's
-- entries instead of one per entry (2,000 calls, about 3% of a batch of 1,000 transfers). A
-- single-row writer still gets an id of its own from the identity default; the rest of its
-- block is a gap, as unused ids always were. Ids stay unique and rising: each wallet's entries
-- take ids drawn after its lock, above all of its earlier ones, which is its chain's order.
ALTER TABLE entries ALTER COLUMN id SET INCREMENT BY 1024;
