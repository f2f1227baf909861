#[memscope::track]
fn fetch_user(id: u64) -> String {
    format!("user {id}")
}

fn main() {
    let _ = fetch_user(1);
}
