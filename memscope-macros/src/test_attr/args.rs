//! The arguments of `#[memscope::test]`: one budget per figure of `memscope::Stats`
//! (`peak = "256 KiB"`, `allocations = 96`, …), `flavor` and `worker_threads`.
//!
//! The same two passes as the other attributes (see [`crate::args`]): each argument is
//! stored once, then the whole is validated, and every bad argument is reported.

use proc_macro2::{Span, TokenStream};
use syn::{Expr, ExprLit, Ident, Lit, LitInt, LitStr};

use super::size::parse_size;
use crate::args::{
    collect, duplicate, expect_int, expect_str, one_of, set_once, Errors, RawArg, RawValue,
};

/// What a budget bounds: bytes take an integer or a size string, counts an integer only.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Figure {
    Bytes,
    Count,
}

/// The budgets, by the `assert_mem!` key (and `memscope::Stats` method) each one bounds,
/// in the order messages list them.
pub(crate) const BUDGETS: [(&str, Figure); 9] = [
    ("allocated", Figure::Bytes),
    ("allocations", Figure::Count),
    ("freed", Figure::Bytes),
    ("frees", Figure::Count),
    ("peak", Figure::Bytes),
    ("retained", Figure::Bytes),
    ("retained_blocks", Figure::Count),
    ("polls", Figure::Count),
    ("tasks", Figure::Count),
];

/// Accepted `flavor` strings, as `#[tokio::test]` names them.
pub(crate) const FLAVORS: [&str; 2] = ["current_thread", "multi_thread"];

/// One budget: `key <= limit`, checked once the body has returned.
pub(crate) struct Budget {
    /// The figure's name as written (its span is the key's).
    pub(crate) key: Ident,
    /// The upper bound, in bytes or as a count.
    pub(crate) limit: u64,
    /// Where the value was written, for the generated comparison.
    pub(crate) span: Span,
}

/// The runtime the test runs on.
#[derive(Default)]
pub(crate) enum Flavor {
    #[default]
    CurrentThread,
    /// `worker_threads`, if given, with the span of its value.
    MultiThread(Option<(usize, Span)>),
}

/// The arguments of `#[memscope::test]`, validated.
#[derive(Default)]
pub(crate) struct TestArgs {
    /// In the order written.
    pub(crate) budgets: Vec<Budget>,
    pub(crate) flavor: Flavor,
}

/// What the first pass collects: each value as written, not yet validated together.
#[derive(Default)]
struct Collected {
    budgets: Vec<Budget>,
    flavor: Option<LitStr>,
    worker_threads: Option<(Ident, LitInt)>,
}

impl TestArgs {
    /// Parses and validates; on error returns what was valid plus the errors.
    pub(crate) fn parse(args: TokenStream) -> (Self, syn::Result<()>) {
        let mut errors = Errors::default();
        let mut collected = Collected::default();
        collect(args, &mut errors, |arg| collected.set(arg));
        let this = collected.validate(&mut errors);
        (this, errors.into_result())
    }
}

impl Collected {
    /// First pass: stores one argument, or says why it cannot be stored.
    fn set(&mut self, arg: &RawArg) -> syn::Result<()> {
        let key = arg.key.to_string();
        if let Some((_, figure)) = BUDGETS.iter().find(|(name, _)| *name == key) {
            return self.set_budget(arg, *figure);
        }
        match key.as_str() {
            "flavor" => expect_str(arg, "flavor = \"multi_thread\"")
                .and_then(|lit| set_once(&mut self.flavor, &arg.key, lit)),
            "worker_threads" => expect_int(arg, "worker_threads = 2").and_then(|lit| {
                set_once(&mut self.worker_threads, &arg.key, (arg.key.clone(), lit))
            }),
            _ => {
                let budgets: Vec<&str> = BUDGETS.iter().map(|(name, _)| *name).collect();
                Err(syn::Error::new(
                    arg.key.span(),
                    format!(
                        "unknown argument `{key}`; expected a budget ({}), `flavor`, \
                         or `worker_threads`",
                        one_of(&budgets)
                    ),
                ))
            }
        }
    }

    /// Stores a budget; a repeat is an error on its key, even if its value is bad too.
    fn set_budget(&mut self, arg: &RawArg, figure: Figure) -> syn::Result<()> {
        if self.budgets.iter().any(|budget| budget.key == arg.key) {
            return Err(duplicate(&arg.key));
        }
        let (limit, span) = budget_value(arg, figure)?;
        self.budgets.push(Budget {
            key: arg.key.clone(),
            limit,
            span,
        });
        Ok(())
    }

    /// Second pass: the flavor and the worker threads together.
    fn validate(self, errors: &mut Errors) -> TestArgs {
        let multi_thread = match &self.flavor {
            None => false,
            Some(lit) => match lit.value().as_str() {
                "current_thread" => false,
                "multi_thread" => true,
                other => {
                    errors.push(syn::Error::new(
                        lit.span(),
                        format!("unknown flavor `{other}`; expected {}", one_of(&FLAVORS)),
                    ));
                    false
                }
            },
        };
        let worker_threads = self.worker_threads.and_then(|(key, lit)| {
            if !multi_thread {
                errors.push(syn::Error::new(
                    key.span(),
                    "`worker_threads` needs `flavor = \"multi_thread\"`; \
                     `current_thread` (the default) has no worker threads",
                ));
                return None;
            }
            match lit.base10_parse::<usize>() {
                Ok(0) | Err(_) => {
                    errors.push(syn::Error::new(
                        lit.span(),
                        "`worker_threads` must be at least 1, e.g. `worker_threads = 2`",
                    ));
                    None
                }
                Ok(n) => Some((n, lit.span())),
            }
        });
        let flavor = if multi_thread {
            Flavor::MultiThread(worker_threads)
        } else {
            Flavor::CurrentThread
        };
        TestArgs {
            budgets: self.budgets,
            flavor,
        }
    }
}

/// The bound of a budget: an integer, or for bytes also a size string (`"256 KiB"`).
fn budget_value(arg: &RawArg, figure: Figure) -> syn::Result<(u64, Span)> {
    let key = &arg.key;
    let RawValue::Expr(Expr::Lit(ExprLit {
        lit: Lit::Str(lit), ..
    })) = &arg.value
    else {
        let example = match figure {
            Figure::Bytes => format!("{key} = \"256 KiB\""),
            Figure::Count => format!("{key} = 96"),
        };
        let lit = expect_int(arg, &example).map_err(|error| match figure {
            Figure::Bytes if matches!(arg.value, RawValue::Expr(_)) => syn::Error::new(
                error.span(),
                format!("expected an integer literal or a size, e.g. `{example}`"),
            ),
            _ => error,
        })?;
        return lit
            .base10_parse::<u64>()
            .map(|limit| (limit, lit.span()))
            .map_err(|_| syn::Error::new(lit.span(), "the budget does not fit in a `u64`"));
    };
    match figure {
        Figure::Bytes => parse_size(&lit.value())
            .map(|limit| (limit, lit.span()))
            .map_err(|message| syn::Error::new(lit.span(), message)),
        Figure::Count => Err(syn::Error::new(
            lit.span(),
            format!(
                "`{key}` is a count, not a size: expected an integer literal, e.g. `{key} = 96`"
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::quote;

    fn test(args: TokenStream) -> (TestArgs, Vec<String>) {
        let (parsed, result) = TestArgs::parse(args);
        (parsed, crate::args::messages(result))
    }

    fn budgets(args: &TestArgs) -> Vec<(String, u64)> {
        let budget = |b: &Budget| (b.key.to_string(), b.limit);
        args.budgets.iter().map(budget).collect()
    }

    #[test]
    fn test_empty_args_use_defaults() {
        let (args, errors) = test(quote!());
        assert!(errors.is_empty(), "{errors:?}");
        assert!(args.budgets.is_empty());
        assert!(matches!(args.flavor, Flavor::CurrentThread));
    }

    #[test]
    fn test_accepts_every_budget_in_the_order_written() {
        let (args, errors) = test(quote!(
            tasks = 1,
            peak = "256 KiB",
            retained = 0,
            allocations = 96,
            allocated = "1.5 MiB",
            freed = 4096,
            frees = 10,
            retained_blocks = 0,
            polls = 1_000,
        ));
        assert!(errors.is_empty(), "{errors:?}");
        let expected = [
            ("tasks", 1),
            ("peak", 262_144),
            ("retained", 0),
            ("allocations", 96),
            ("allocated", 1_572_864),
            ("freed", 4096),
            ("frees", 10),
            ("retained_blocks", 0),
            ("polls", 1000),
        ];
        let expected: Vec<(String, u64)> =
            expected.iter().map(|(k, v)| (k.to_string(), *v)).collect();
        assert_eq!(budgets(&args), expected);
        assert_eq!(BUDGETS.len(), expected.len(), "every budget is covered");
    }

    #[test]
    fn test_flavors_and_worker_threads() {
        let (args, errors) = test(quote!(flavor = "multi_thread", worker_threads = 4));
        assert!(errors.is_empty(), "{errors:?}");
        assert!(matches!(args.flavor, Flavor::MultiThread(Some((4, _)))));
        let (args, errors) = test(quote!(flavor = "multi_thread"));
        assert!(errors.is_empty(), "{errors:?}");
        assert!(matches!(args.flavor, Flavor::MultiThread(None)));
        let (args, errors) = test(quote!(flavor = "current_thread"));
        assert!(errors.is_empty(), "{errors:?}");
        assert!(matches!(args.flavor, Flavor::CurrentThread));
    }

    #[test]
    fn test_rejects_worker_threads_without_multi_thread() {
        let message = "`worker_threads` needs `flavor = \"multi_thread\"`; `current_thread` \
                       (the default) has no worker threads";
        for args in [
            quote!(worker_threads = 2),
            quote!(flavor = "current_thread", worker_threads = 2),
        ] {
            let (parsed, errors) = test(args);
            assert!(matches!(parsed.flavor, Flavor::CurrentThread));
            assert_eq!(errors, [message]);
        }
        let (_, errors) = test(quote!(flavor = "multi_thread", worker_threads = 0));
        assert_eq!(
            errors,
            ["`worker_threads` must be at least 1, e.g. `worker_threads = 2`"]
        );
    }

    #[test]
    fn test_rejects_bad_arguments_all_at_once_and_keeps_the_good_ones() {
        let (args, errors) = test(quote!(
            peak = 1,
            heap = 2,
            peak = 3,
            allocations = "96",
            frees = "1 KiB",
            retained = "1 MB",
            freed = 1.5,
            tasks = -1,
            flavor = "single_thread",
            polls,
            worker_threads = "2",
        ));
        assert_eq!(
            budgets(&args),
            [("peak".to_string(), 1)],
            "the first peak is kept"
        );
        assert!(matches!(args.flavor, Flavor::CurrentThread));
        assert_eq!(
            errors,
            [
                "unknown argument `heap`; expected a budget (`allocated`, `allocations`, \
                 `freed`, `frees`, `peak`, `retained`, `retained_blocks`, `polls`, or \
                 `tasks`), `flavor`, or `worker_threads`",
                "duplicate argument `peak`",
                "`allocations` is a count, not a size: expected an integer literal, e.g. \
                 `allocations = 96`",
                "`frees` is a count, not a size: expected an integer literal, e.g. `frees = 96`",
                "`MB` is ambiguous (1000 or 1024?); write `KiB`, `MiB` or `GiB`, binary \
                 units (1 KiB = 1024 bytes)",
                "expected an integer literal or a size, e.g. `freed = \"256 KiB\"`",
                "expected an integer literal, e.g. `tasks = 96`",
                "expected `polls = ...`, e.g. `polls = 96`",
                "expected an integer literal, e.g. `worker_threads = 2`",
                "unknown flavor `single_thread`; expected `current_thread` or `multi_thread`",
            ]
        );
    }

    #[test]
    fn test_rejects_a_count_beyond_u64() {
        let (_, errors) = test(quote!(allocations = 18446744073709551616));
        assert_eq!(errors, ["the budget does not fit in a `u64`"]);
    }
}
