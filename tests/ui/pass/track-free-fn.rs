#![deny(warnings)]
//! Free fns: default name, explicit name and task type, one task per call.

use memscope::TaskType;

#[memscope::track]
async fn plain() -> Vec<u8> {
    vec![1, 2, 3]
}

#[memscope::track(task_type = "io")]
async fn read_config(len: usize) -> String {
    "x".repeat(len)
}

#[memscope::track(name = "fetch_user", task_type = "network")]
pub async fn fetch_user(id: u64) -> String {
    format!("user {id}")
}

#[memscope::track]
async fn unit() {}

#[memscope::track]
async fn r#type() -> u8 {
    7
}

#[memscope::main(flavor = "current_thread", summary = false)]
async fn main() {
    assert_eq!(plain().await, [1, 2, 3]);
    assert_eq!(read_config(4).await, "xxxx");
    assert_eq!(fetch_user(1).await, "user 1");
    assert_eq!(fetch_user(2).await, "user 2");
    unit().await;
    assert_eq!(r#type().await, 7);

    let snapshot = memscope::snapshot();
    let named = |name: &str| -> Vec<TaskType> {
        snapshot
            .task_profiles()
            .iter()
            .filter(|t| t.name == name)
            .map(|t| t.task_type)
            .collect()
    };
    let module = module_path!();
    assert_eq!(named(&format!("{module}::plain")), [TaskType::Unspecified]);
    assert_eq!(
        named(&format!("{module}::read_config")),
        [TaskType::IoIntensive]
    );
    assert_eq!(named("fetch_user"), [TaskType::NetworkIntensive; 2]);
    assert_eq!(named(&format!("{module}::unit")).len(), 1);
    assert_eq!(named(&format!("{module}::type")).len(), 1);
}
