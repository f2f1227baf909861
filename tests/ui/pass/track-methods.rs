#![deny(warnings)]
//! Inherent methods taking `self`, `&self`, `&mut self`, `self: Box<Self>`, or no receiver.

struct Counter {
    hits: Vec<u32>,
}

impl Counter {
    #[memscope::track]
    async fn new() -> Self {
        Self { hits: Vec::new() }
    }

    #[memscope::track(task_type = "memory")]
    async fn hit(&mut self, n: u32) -> &mut Self {
        self.hits.push(n);
        self
    }

    #[memscope::track]
    async fn total(&self) -> u32 {
        self.hits.iter().sum()
    }

    #[memscope::track]
    async fn first(&self) -> Option<&u32> {
        self.hits.first()
    }

    #[memscope::track(name = "Counter::into_hits")]
    async fn into_hits(self) -> Vec<u32> {
        self.hits
    }

    #[memscope::track]
    async fn boxed(self: Box<Self>) -> usize {
        self.hits.len()
    }
}

#[memscope::main(flavor = "current_thread", summary = false)]
async fn main() {
    let mut counter = Counter::new().await;
    counter.hit(1).await.hit(2).await;
    assert_eq!(counter.total().await, 3);
    assert_eq!(counter.first().await, Some(&1));
    assert_eq!(counter.into_hits().await, [1, 2]);
    assert_eq!(Box::new(Counter { hits: vec![5] }).boxed().await, 1);

    let snapshot = memscope::snapshot();
    let into_hits = snapshot
        .task_profiles()
        .iter()
        .filter(|t| t.name == "Counter::into_hits");
    assert_eq!(into_hits.count(), 1);
}
