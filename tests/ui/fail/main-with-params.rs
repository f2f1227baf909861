#[memscope::main]
async fn serve(port: u16) {
    let _ = port;
}

fn main() {}
