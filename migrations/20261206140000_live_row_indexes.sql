-- The hot queries look only at live rows: the executor's intake and every open's budget
-- check read the intents still `accepted` or `working`, and the budget sums the fills of
-- those intents' orders. Without these, both scan the whole history, so an open got
-- slower with every intent the account ever had. `positions` needs nothing new: its
-- open rows are found through `positions_one_open_per_leg` (same predicate).
CREATE INDEX intents_live ON intents (venue, id) WHERE state IN ('accepted', 'working');
