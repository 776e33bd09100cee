//! Thin entry point: parse the CLI, initialise telemetry, dispatch.

fn main() {
    println!("sluice");
}
