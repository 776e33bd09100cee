-- A ledger with 500 live opens (working, one order each, every other one half filled),
-- 2000 ended ones with fills, and one open position: what the accept sees in the middle
-- of the 500-opens bench. Load after the migrations (BENCHMARKS.md, 2026-12-05 23:50).
INSERT INTO positions (venue, symbol, direction, position_side, status, quantity, entry_price,
    opened_quantity, origin) VALUES ('binance-usdm', 'SOLUSDT', 'long', 'BOTH', 'open', 250, 150, 250, 'sluice');
INSERT INTO intents (kind, venue, symbol, direction, position_mode, quantity, notional_usdt,
    idempotency_key, state, position_id)
SELECT 'open', 'binance-usdm', 'SOLUSDT', 'long', 'one-way', 1, 150,
       'k' || g, CASE WHEN g <= 2000 THEN 'done' ELSE 'working' END, 1
  FROM generate_series(1, 2500) g;
INSERT INTO orders (intent_id, intent_kind, position_id, venue, symbol, side, position_side,
    order_type, quantity, reduce_only, client_order_id, chunk_index, attempt, status)
SELECT i.id, 'open', 1, 'binance-usdm', 'SOLUSDT', 'BUY', 'BOTH', 'MARKET', 1, false,
       'c' || i.id, 0, 0, CASE WHEN i.state = 'done' THEN 'filled' ELSE 'partially_filled' END
  FROM intents i;
INSERT INTO fills (venue, symbol, trade_id, order_id, exchange_order_id, side, position_side,
    price, quantity, commission, commission_asset, realized_pnl, maker, traded_at, external,
    position_id, applied_quantity)
SELECT 'binance-usdm', 'SOLUSDT', o.id, o.id, o.id, 'BUY', 'BOTH', 150, 0.5, 0, 'USDT', 0,
       false, now(), false, 1, 0.5
  FROM orders o WHERE o.intent_id <= 2000 OR o.intent_id % 2 = 0;
ANALYZE;
