//! The simulator's request pipeline without the network: signed LIMIT IOC orders through
//! rate limits, HMAC verification, parsing, the venue and rendering, on one task. Shows
//! how much of the end-to-end figure (`sim_orders`) is the server's own work.
//!
//! Run: `cargo bench -p sluice-sim --bench sim_pipeline`.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{SystemTime, UNIX_EPOCH};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use sluice_sim::{spawn, RawRequest, Scenario, DEMO_API_KEY, DEMO_API_SECRET};

fn signed_query() -> String {
    let ts = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    let q = format!(
        "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=IOC&quantity=0.010&price=60000.0&timestamp={ts}"
    );
    let mut mac = Hmac::<Sha256>::new_from_slice(DEMO_API_SECRET.as_bytes()).expect("any key");
    mac.update(q.as_bytes());
    format!("{q}&signature={}", hex::encode(mac.finalize().into_bytes()))
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    // The demo account, with order limits that never bind.
    let scenario = Scenario::from_toml_str(&format!(
        "[rate_limits]\norders_per_10s = {n}\norders_per_minute = {n}\n\
         [[accounts]]\napi_key = \"{DEMO_API_KEY}\"\napi_secret = \"{DEMO_API_SECRET}\"\nusdt = \"100000\"\n",
        n = u32::MAX / 4
    ))
    .expect("bench scenario parses");
    let addr: SocketAddr = "127.0.0.1:0".parse().expect("addr");
    let sim = rt
        .block_on(spawn(scenario, addr))
        .expect("simulator starts");
    let sim = &sim;
    let mut group = c.benchmark_group("sim");
    group.throughput(Throughput::Elements(1));
    group.bench_function("pipeline_signed_limit_order", |b| {
        b.to_async(&rt).iter(|| async move {
            let q = signed_query();
            let req = RawRequest {
                method: "POST",
                path: "/fapi/v1/order",
                query: &q,
                body: "",
                ip: IpAddr::V4(Ipv4Addr::LOCALHOST),
                api_key: Some(DEMO_API_KEY),
            };
            let out = sim.handle(req).await;
            assert_eq!(out.status, 200, "{}", out.body);
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
