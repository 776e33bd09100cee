//! End-to-end simulator throughput: signed LIMIT IOC orders over loopback HTTP/1.1 with
//! keep-alive, from several concurrent client tasks (one account each, so the per-account
//! ORDERS limits, raised here, never bind). Each order goes through the whole pipeline:
//! IP weight, HMAC verification, order counters, parsing, the venue's filter checks and
//! matching (the IOC price sits below the book, so it expires without a fill), rendering.
//!
//! Run: `cargo bench -p sluice-sim --bench sim_orders` (criterion reports `thrpt` in orders/s).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use sluice_sim::{spawn, Scenario, SimHandle};

const CLIENTS: usize = 8;
const ORDERS_PER_ITER: usize = 2_000;

fn scenario() -> Scenario {
    let mut text = String::from(
        "[rate_limits]\nrequest_weight_per_minute = 100000000\norders_per_10s = 100000000\norders_per_minute = 100000000\n",
    );
    for i in 0..CLIENTS {
        text.push_str(&format!(
            "[[accounts]]\napi_key = \"benchKey{i}\"\napi_secret = \"benchSecret{i}\"\nusdt = \"1000000\"\n"
        ));
    }
    Scenario::from_toml_str(&text).expect("bench scenario parses")
}

fn signed_query(secret: &str) -> String {
    let ts = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    let q = format!(
        "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=IOC&quantity=0.010&price=60000.0&timestamp={ts}"
    );
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(q.as_bytes());
    format!("{q}&signature={}", hex::encode(mac.finalize().into_bytes()))
}

async fn client(url: String, http: reqwest::Client, i: usize, n: usize) {
    let (key, secret) = (format!("benchKey{i}"), format!("benchSecret{i}"));
    for _ in 0..n {
        let r = http
            .post(format!("{url}?{}", signed_query(&secret)))
            .header("X-MBX-APIKEY", &key)
            .send()
            .await
            .expect("order reaches the simulator");
        assert_eq!(r.status(), 200, "{:?}", r.text().await);
        let _ = r.bytes().await;
    }
}

async fn burst(sim: &SimHandle, http: &reqwest::Client, total: usize) -> Duration {
    let url = format!("{}/fapi/v1/order", sim.base_url());
    let start = Instant::now();
    let tasks: Vec<_> = (0..CLIENTS)
        .map(|i| tokio::spawn(client(url.clone(), http.clone(), i, total / CLIENTS)))
        .collect();
    for t in tasks {
        t.await.expect("client task");
    }
    start.elapsed()
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let addr: SocketAddr = "127.0.0.1:0".parse().expect("addr");
    let sim = Arc::new(
        rt.block_on(spawn(scenario(), addr))
            .expect("simulator starts"),
    );
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(CLIENTS * 2)
        .build()
        .expect("client");
    let mut group = c.benchmark_group("sim");
    group.throughput(Throughput::Elements(ORDERS_PER_ITER as u64));
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(10));
    group.bench_function("signed_limit_orders_over_loopback", |b| {
        b.to_async(&rt).iter_custom(|iters| {
            let sim = sim.clone();
            let http = http.clone();
            async move {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    total += burst(&sim, &http, ORDERS_PER_ITER).await;
                }
                total
            }
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
