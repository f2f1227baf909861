#![deny(warnings)]
//! `serve` starts the live endpoint for the session (port 0: one the system picks).

#[memscope::main(serve = "127.0.0.1:0", summary = false)]
async fn main() {
    let snap = memscope::snapshot();
    assert!(snap.id > 0);
}
