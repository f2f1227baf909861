#![deny(warnings)]
//! Native `async fn` in traits: impl methods and default methods.

trait Store {
    async fn get(&self, key: &str) -> Option<String>;

    #[memscope::track(task_type = "io")]
    async fn get_or_default(&self, key: &str) -> String {
        self.get(key).await.unwrap_or_default()
    }
}

struct MemStore(Vec<(String, String)>);

impl Store for MemStore {
    #[memscope::track(name = "MemStore::get", task_type = "memory")]
    async fn get(&self, key: &str) -> Option<String> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
    }
}

#[memscope::main(flavor = "current_thread", summary = false)]
async fn main() {
    let store = MemStore(vec![("a".into(), "1".into())]);
    assert_eq!(store.get("a").await.as_deref(), Some("1"));
    assert_eq!(store.get_or_default("b").await, "");
    let snapshot = memscope::snapshot();
    let gets = snapshot
        .task_profiles()
        .iter()
        .filter(|t| t.name == "MemStore::get");
    assert_eq!(gets.count(), 2);
}
