#![deny(warnings)]
//! `report` names the file written at shutdown; the summary is printed too.

#[memscope::track(task_type = "memory")]
async fn fill() -> usize {
    vec![0u8; 4096].len()
}

#[memscope::main(report = "target/x.json")]
async fn main() {
    assert_eq!(fill().await, 4096);
}
