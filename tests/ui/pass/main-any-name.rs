#![deny(warnings)]
//! Like `#[tokio::main]`, the attribute works on a fn of any name.

#[memscope::track]
async fn handle(request: u32) -> u32 {
    request + 1
}

#[memscope::main(summary = false)]
async fn async_web_server_simulation() -> u32 {
    let mut served = 0;
    for request in 0..3 {
        served += handle(request).await;
    }
    served
}

fn main() {
    assert_eq!(async_web_server_simulation(), 6);
}
