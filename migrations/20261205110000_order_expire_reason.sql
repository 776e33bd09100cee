-- Why the exchange expired an order (`er` of ORDER_TRADE_UPDATE, docs/binance-fapi.md §5.3):
-- 1 self-trade prevention, 2 IOC remainder, 4 reduce-only knocked out, 9 MARKET remainder...
-- NULL while the order has not expired or the venue gave no reason. An expiry is evidence,
-- never a fill: quantities still move only with trades.
ALTER TABLE orders ADD COLUMN expire_reason SMALLINT CHECK (expire_reason >= 0);
