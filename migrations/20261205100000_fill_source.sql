-- Where the ledger learned of a fill: 'stream' (the live user-data stream) or 'rest' (a
-- REST read: order resolution, userTrades, the resync after a reconnect). NULL for fills
-- stored before this column existed and for fills written by tools that do not say.
-- A working stream delivers every fill of sluice's own orders; a run of 'rest' fills is
-- the evidence of a silent stream (docs/binance-fapi.md §0).
ALTER TABLE fills ADD COLUMN source TEXT CHECK (source IN ('stream', 'rest'));
