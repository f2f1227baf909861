//! Names of tracked fns: `Type::method`, with the type's path as `type_name` gives it
//! and its generic parameters elided, so `Users::load` and `Orders::load` never share a
//! name (nor with a free fn `load`); an associated fn without `self` (`Db::open`) is named
//! the same way, from the path of an item declared inside it ([`FnName`]).

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

/// The name of one tracked fn without a `self` receiver, made once per call site.
///
/// The attribute cannot tell an associated fn (`impl Db { async fn open() }`) from a free
/// one, and `Self` does not exist in a free fn; but the path of an item declared inside
/// the fn does say where it is: `#[memscope::track]` declares `fn __memscope_here() {}`
/// in the fn and passes `type_name_of_val(&__memscope_here)` to [`FnName::get`], which
/// keeps `app::Db::open` of `app::Db<_>::open::{{closure}}::__memscope_here` (a trait
/// impl's `<app::Db as app::Store>::open` is `app::Db::open`, as for a method).
#[doc(hidden)]
#[derive(Debug)]
pub struct FnName(OnceLock<&'static str>);

impl FnName {
    /// A call site whose name is not made yet.
    pub const fn new() -> Self {
        FnName(OnceLock::new())
    }

    /// The fn's name, from `here_path`: the `type_name` of an item declared in its body.
    pub fn get(&self, here_path: &'static str) -> &'static str {
        self.0.get_or_init(|| {
            let _internal = thread::internal();
            Box::leak(fn_path(here_path).into_boxed_str())
        })
    }
}

impl Default for FnName {
    fn default() -> Self {
        FnName::new()
    }
}

/// The fn's path in `here_path` (`a::B<_>::f::{{closure}}::__memscope_here`): without the
/// last segment, closures, generic parameters, and `<T as Trait>` written as `T`.
fn fn_path(here_path: &str) -> String {
    let inner = here_path
        .rsplit_once("::")
        .map_or(here_path, |(fn_path, _)| fn_path);
    // A fn type's arrow is no bracket: `Wrapper<fn() -> u8>`.
    let inner = inner.replace("::{{closure}}", "").replace("->", "→");
    let (qualified_self, rest) = match inner.strip_prefix('<') {
        Some(tail) => split_qualified(tail),
        None => ("", inner.as_str()),
    };
    let mut name = String::with_capacity(inner.len());
    let mut depth = 0usize;
    for c in qualified_self.chars().chain(rest.chars()) {
        match c {
            '<' => depth += 1,
            '>' => depth = depth.saturating_sub(1),
            _ if depth == 0 => name.push(c),
            _ => {}
        }
    }
    name
}

/// `T as Trait>::f` → (`T`, `::f`): the self type of a qualified path and what follows the
/// closing `>`.
fn split_qualified(tail: &str) -> (&str, &str) {
    let mut depth = 0usize;
    let mut self_end = None;
    for (i, c) in tail.char_indices() {
        match c {
            '<' => depth += 1,
            '>' if depth == 0 => return (&tail[..self_end.unwrap_or(i)], &tail[i + 1..]),
            '>' => depth -= 1,
            ' ' if depth == 0 && self_end.is_none() && tail[i..].starts_with(" as ") => {
                self_end = Some(i)
            }
            _ => {}
        }
    }
    (tail, "")
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

    #[test]
    fn a_fn_without_self_is_named_by_where_it_is_declared() {
        for (here, name) in [
            (
                "app::Db<_>::open::{{closure}}::__memscope_here",
                "app::Db::open",
            ),
            (
                "<app::Db<u8> as app::Store>::open::__memscope_here",
                "app::Db::open",
            ),
            (
                "<alloc::vec::Vec<app::Row<u8>> as app::Store<T>>::put::{{closure}}::here",
                "alloc::vec::Vec::put",
            ),
            (
                "app::server::run::{{closure}}::__memscope_here",
                "app::server::run",
            ),
            ("app::outer::inner::__memscope_here", "app::outer::inner"),
            (
                "app::Store::open_default::__memscope_here",
                "app::Store::open_default",
            ),
        ] {
            assert_eq!(fn_path(here), name, "{here}");
        }
    }

    struct Db;
    impl Db {
        fn open_name() -> &'static str {
            fn here() {}
            static NAME: FnName = FnName::new();
            NAME.get(std::any::type_name_of_val(&here))
        }
    }

    #[test]
    fn an_associated_fn_is_named_after_its_type() {
        let name = Db::open_name();
        assert!(
            name.ends_with("method_name::tests::Db::open_name"),
            "{name}"
        );
        assert!(
            std::ptr::eq(name, Db::open_name()),
            "made once per call site"
        );
    }
}
