//! Default task names say what ran: a method is `Type::method` (the type's path, generic
//! parameters elided), an associated fn without `self` `Type::fn` too, a free fn
//! `module::fn`, and two different fns never share a name.

use memscope::snapshot;

struct Users;
struct Orders<T>(T);

impl Users {
    #[memscope::track]
    async fn load(&self) -> usize {
        vec![0u8; 10].len()
    }
}

impl<T: Send + Sync> Orders<T> {
    #[memscope::track]
    async fn load(&self) -> usize {
        vec![0u8; 20].len()
    }
}

#[memscope::track]
async fn load() -> usize {
    vec![0u8; 30].len()
}

impl Users {
    #[memscope::track]
    async fn open() -> usize {
        vec![0u8; 50].len()
    }
}

impl<T: Send + Sync> Orders<T> {
    #[memscope::track]
    async fn open() -> usize {
        vec![0u8; 60].len()
    }
}

trait Connect {
    async fn connect() -> usize;
    #[memscope::track]
    async fn connect_default() -> usize {
        vec![0u8; 70].len()
    }
}

impl Connect for Users {
    #[memscope::track]
    async fn connect() -> usize {
        vec![0u8; 80].len()
    }
}

trait Store {
    #[memscope::track]
    async fn flush(&self) -> usize {
        vec![0u8; 40].len()
    }
}

impl Store for Users {}
impl<T: Send + Sync> Store for Orders<T> {}

fn names() -> Vec<String> {
    let mut n: Vec<String> = snapshot()
        .groups
        .into_iter()
        .filter(|g| g.name.contains("task_names::"))
        .map(|g| g.name)
        .collect();
    n.sort();
    n
}

#[test]
fn methods_free_fns_and_trait_defaults_get_names_of_their_own() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    rt.block_on(async {
        Users.load().await;
        Orders(1u8).load().await;
        Orders("x").load().await; // another instance of the generic type: same name
        load().await;
        Users.flush().await;
        Orders(2u16).flush().await;
    });
    rt.block_on(async {
        Users::open().await;
        Orders::<u8>::open().await;
        <Users as Connect>::connect().await;
        Users::connect_default().await;
        #[memscope::track]
        async fn nested() {}
        nested().await;
    });
    assert_eq!(
        names(),
        [
            "task_names::Connect::connect_default",
            "task_names::Orders::flush",
            "task_names::Orders::load",
            "task_names::Orders::open",
            "task_names::Users::connect",
            "task_names::Users::flush",
            "task_names::Users::load",
            "task_names::Users::open",
            "task_names::load",
            "task_names::methods_free_fns_and_trait_defaults_get_names_of_their_own::nested",
        ]
    );
    let orders = snapshot()
        .groups
        .into_iter()
        .find(|g| g.name == "task_names::Orders::load")
        .unwrap();
    assert_eq!(
        orders.task_count, 2,
        "generic parameters are elided: one group"
    );
}
