//! Hot pure paths of the Binance adapter: signing, building a signed order request,
//! decoding + translating ORDER_TRADE_UPDATE, and parsing exchangeInfo (300 symbols,
//! about the size of mainnet's) into SymbolRules.

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use secrecy::SecretString;
use sluice::domain::{
    ClientOrderId, OrderRequest, OrderType, PositionSide, Price, Qty, Side, Symbol, TimeInForce,
};
use sluice::exchange::binance::samples::{SOL_EXCHANGE_INFO, TRADE_UPDATE};
use sluice::exchange::binance::{
    account_events, order_params, signed_query, symbol_rules, ExchangeInfo, Signer, UserEvent,
};

const KAT_SECRET: &str = "2b5eb11e18796d12d88f13dc27dbbd02c2cc51ff7059765ed9821957d82bb4d9";
const KAT_PAYLOAD: &str = "symbol=BTCUSDT&side=BUY&type=LIMIT&quantity=1&price=9000&timeInForce=GTC&recvWindow=5000&timestamp=1591702613943";

fn signer() -> Signer {
    Signer::new(SecretString::from(KAT_SECRET.to_string()))
}

fn order() -> OrderRequest {
    OrderRequest {
        symbol: Symbol::new("SOLUSDT").expect("symbol"),
        side: Side::Buy,
        position_side: PositionSide::Both,
        order_type: OrderType::Limit,
        quantity: Qty::parse("q", "5000").expect("qty"),
        price: Some(Price::parse("p", "187.512").expect("price")),
        time_in_force: Some(TimeInForce::Ioc),
        reduce_only: true,
        client_order_id: ClientOrderId::new("sl-7f3a9c-close-0001").expect("id"),
        price_match: None,
        good_till_date: None,
    }
}

/// The sample's symbol repeated under 300 names.
fn big_exchange_info() -> String {
    let start = SOL_EXCHANGE_INFO
        .find("{\"symbol\":\"SOLUSDT\"")
        .expect("symbol object");
    let end = SOL_EXCHANGE_INFO.rfind("]}").expect("end of symbols");
    let one = &SOL_EXCHANGE_INFO[start..end];
    let many: Vec<String> = (0..300)
        .map(|i| one.replace("SOLUSDT", &format!("S{i}USDT")))
        .collect();
    format!("{}{}]}}", &SOL_EXCHANGE_INFO[..start], many.join(","))
}

fn benches(c: &mut Criterion) {
    let s = signer();
    c.bench_function("sign_kat_payload", |b| {
        b.iter(|| s.sign(black_box(KAT_PAYLOAD.as_bytes())))
    });

    let o = order();
    c.bench_function("build_signed_order_query", |b| {
        b.iter(|| {
            signed_query(
                &s,
                &order_params(black_box(&o), Default::default()),
                1_591_702_613_943,
                5000,
            )
        })
    });

    c.bench_function("parse_order_trade_update", |b| {
        b.iter(|| {
            let ev = UserEvent::from_json(black_box(TRADE_UPDATE)).expect("decodes");
            account_events(&ev).expect("translates")
        })
    });

    let big = big_exchange_info();
    c.bench_function("parse_exchange_info_300_symbols", |b| {
        b.iter(|| {
            let info: ExchangeInfo = serde_json::from_str(black_box(&big)).expect("decodes");
            info.symbols
                .iter()
                .map(symbol_rules)
                .collect::<Result<Vec<_>, _>>()
                .expect("rules")
        })
    });
}

criterion_group!(binance, benches);
criterion_main!(binance);
