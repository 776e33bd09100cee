//! Representative wire payloads, shaped like real captures (values from docs/binance-fapi.md §5.3
//! and §7, written by hand), shared by the unit tests and the criterion benches.

/// SOLUSDT as mainnet published it on 2024-03-28 (docs/binance-fapi.md §7), filters in shuffled key order.
pub const SOL_EXCHANGE_INFO: &str = r#"{"timezone":"UTC","serverTime":1711627208783,"futuresType":"U_MARGINED",
 "rateLimits":[{"rateLimitType":"REQUEST_WEIGHT","interval":"MINUTE","intervalNum":1,"limit":2400},
  {"rateLimitType":"ORDERS","interval":"MINUTE","intervalNum":1,"limit":1200},
  {"rateLimitType":"ORDERS","interval":"SECOND","intervalNum":10,"limit":300}],
 "exchangeFilters":[],"assets":[],
 "symbols":[{"symbol":"SOLUSDT","pair":"SOLUSDT","contractType":"PERPETUAL","deliveryDate":4133404800000,
  "onboardDate":1569398400000,"status":"TRADING","maintMarginPercent":"2.5000","requiredMarginPercent":"5.0000",
  "baseAsset":"SOL","quoteAsset":"USDT","marginAsset":"USDT","pricePrecision":4,"quantityPrecision":0,
  "baseAssetPrecision":8,"quotePrecision":8,"underlyingType":"COIN","underlyingSubType":["Layer-1"],
  "triggerProtect":"0.0500","liquidationFee":"0.015000","marketTakeBound":"0.05","maxMoveOrderLimit":10000,
  "filters":[{"maxPrice":"6857","filterType":"PRICE_FILTER","minPrice":"0.4200","tickSize":"0.0010"},
   {"stepSize":"1","filterType":"LOT_SIZE","maxQty":"1000000","minQty":"1"},
   {"filterType":"MARKET_LOT_SIZE","maxQty":"5000","minQty":"1","stepSize":"1"},
   {"filterType":"MAX_NUM_ORDERS","limit":200},{"filterType":"MAX_NUM_ALGO_ORDERS","limit":10},
   {"notional":"5","filterType":"MIN_NOTIONAL"},
   {"multiplierDown":"0.9500","multiplierUp":"1.0500","multiplierDecimal":"4","filterType":"PERCENT_PRICE"}],
  "orderTypes":["LIMIT","MARKET"],"timeInForce":["GTC","IOC","FOK","GTX","GTD"]}]}"#;

/// A reduce-only MARKET BUY that filled, as ORDER_TRADE_UPDATE x=TRADE (docs/binance-fapi.md §5.3 key order).
pub const TRADE_UPDATE: &str = r#"{"e":"ORDER_TRADE_UPDATE","T":1731926580520,"E":1731926580521,"o":{"s":"SOLUSDT",
 "c":"sl-close-1","S":"BUY","o":"MARKET","f":"GTC","q":"5000","p":"0","ap":"187.5120","sp":"0","x":"TRADE",
 "X":"FILLED","i":8389765519,"l":"5000","z":"5000","L":"187.512","n":"0.46878000","N":"USDT","T":1731926580520,
 "t":5032913,"b":"0","a":"0","m":false,"R":true,"wt":"CONTRACT_PRICE","ot":"MARKET","ps":"BOTH","cp":false,
 "rp":"-12.50000000","pP":false,"si":0,"ss":0,"V":"EXPIRE_MAKER","pm":"NONE","gtd":0,"er":"0"}}"#;
