//! Names of tracked methods: `Type::method`, with the type's path as `type_name` gives it
//! and its generic parameters elided, so `Users::load` and `Orders::load` never share a
//! name (nor with a free fn `load`).

use crate::base::lock::lock;
use crate::hook::thread;
use std::collections::BTreeMap;
use std::sync::{Mutex, OnceLock};

/// The name of one tracked method, made once per call site and type.
///
/// `#[memscope::track]` puts one in a `static` beside each method with a `self` receiver
/// and asks it for the name with `type_name::<Self>()`. The first type seen is cached at
/// the call site (one comparison per call after that); a call site shared by several
/// types (a trait's default method) looks the others up in a process-wide table, which
/// holds one name per (type, method) ever tracked: bounded by the program's code.
#[doc(hidden)]
#[derive(Debug)]
pub struct MethodName {
    method: &'static str,
    first: OnceLock<(&'static str, &'static str)>,
}

impl MethodName {
    /// The call site of `method`.
    pub const fn new(method: &'static str) -> Self {
        MethodName {
            method,
            first: OnceLock::new(),
        }
    }

    /// `Type::method` for the type named `type_name` (as `std::any::type_name` gives it).
    pub fn get(&self, type_name: &'static str) -> &'static str {
        let (ty, name) = *self
            .first
            .get_or_init(|| (type_name, intern(type_name, self.method)));
        if std::ptr::eq(ty, type_name) || ty == type_name {
            name
        } else {
            intern(type_name, self.method)
        }
    }
}

/// `type_name` without its generic parameters: `app::Users<alloc::string::String>` →
/// `app::Users`.
fn without_generics(type_name: &str) -> &str {
    type_name.split('<').next().unwrap_or(type_name)
}

/// The one `&'static str` of `Type::method`, made (as the tracker's memory) the first
/// time this pair is seen.
fn intern(type_name: &'static str, method: &'static str) -> &'static str {
    type Names = BTreeMap<(&'static str, &'static str), &'static str>;
    static NAMES: Mutex<Names> = Mutex::new(BTreeMap::new());
    let _internal = thread::internal();
    let mut names = lock(&NAMES);
    names.entry((type_name, method)).or_insert_with(|| {
        let name = format!("{}::{method}", without_generics(type_name));
        Box::leak(name.into_boxed_str())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Users<T>(T);
    struct Orders;

    #[test]
    fn a_method_is_named_after_its_type_without_generics() {
        let site = MethodName::new("load");
        let users = site.get(std::any::type_name::<Users<String>>());
        assert!(
            users.ends_with("method_name::tests::Users::load"),
            "{users}"
        );
        // The same call site for another type (a trait's default method) names it apart.
        let orders = site.get(std::any::type_name::<Orders>());
        assert!(
            orders.ends_with("method_name::tests::Orders::load"),
            "{orders}"
        );
        assert_eq!(site.get(std::any::type_name::<Users<u8>>()), users);
    }
}
