//! Expansion of `#[memscope::test]`.
//!
//! The `async fn` becomes a plain `#[test]` fn that builds a tokio runtime, runs the
//! body inside `memscope::measure_named` (named after the test's path) and checks the
//! figures against the budgets with `memscope::assert_mem!` once the body has returned,
//! whatever it returned; then it gives the body's value back, so a test returning
//! `Result` works as with `#[tokio::test]`.

use proc_macro2::{Literal, TokenStream};
use quote::{quote, quote_spanned, ToTokens};
use syn::ext::IdentExt;
use syn::spanned::Spanned;
use syn::{parse_quote, Token};

use crate::args::Errors;
use crate::item::{async_body, not_async, with_error, FnItem};

mod args;
mod size;

use self::args::{Flavor, TestArgs};

/// Why `#[memscope::test]` cannot expand when the facade's `tokio` feature is off.
const NEEDS_TOKIO: &str = "`#[memscope::test]` needs memscope's `tokio` feature; enable it: \
                           `memscope = { version = \"0.1\", features = [\"tokio\"] }`";

/// `#[memscope::test(args)] item`, on `proc_macro2` streams.
pub(crate) fn test(args: TokenStream, item: TokenStream) -> TokenStream {
    test_with(args, item, cfg!(feature = "tokio"))
}

/// [`test`], with the facade's `tokio` feature on or off.
fn test_with(args: TokenStream, item: TokenStream, tokio: bool) -> TokenStream {
    if !tokio {
        // The expansion names `::memscope::__private::tokio`, which exists only then.
        return with_error(
            item,
            &syn::Error::new(proc_macro2::Span::call_site(), NEEDS_TOKIO),
        );
    }
    let mut func = match FnItem::parse(&item, "test") {
        Ok(func) => func,
        Err(error) => return with_error(item, &error),
    };
    let Some(body) = &func.body else {
        let error = syn::Error::new(func.sig.span(), "`#[memscope::test]` needs a fn body");
        return with_error(func.into_token_stream(), &error);
    };
    let stmts = body.stmts.clone();

    if !func.sig.inputs.is_empty() {
        // A test is called by the test harness, with nothing: the fn comes back as
        // written, not a test, so this is the only error.
        let error = syn::Error::new_spanned(
            &func.sig.inputs,
            "`#[memscope::test]` fn cannot take parameters; remove them",
        );
        return with_error(func.into_token_stream(), &error);
    }
    let mut errors = Errors::default();
    if func.sig.asyncness.is_none() {
        errors.push(syn::Error::new(func.sig.fn_token.span, not_async("test")));
        // A sync body runs as well inside an async block: expanding it keeps the
        // test whole, so this is the only error the user sees.
        func.sig.asyncness = Some(Token![async](func.sig.fn_token.span));
    }
    // Bad arguments still expand, without what was bad, so only the argument is reported.
    let (args, result) = TestArgs::parse(args);
    errors.push_result(result);

    let expanded = expand(&func, &args, &stmts);
    match errors.into_result() {
        Ok(()) => expanded,
        Err(error) => with_error(expanded, &error),
    }
}

fn expand(func: &FnItem, args: &TestArgs, stmts: &TokenStream) -> TokenStream {
    let builder = match &args.flavor {
        Flavor::CurrentThread => quote!(new_current_thread()),
        Flavor::MultiThread(None) => quote!(new_multi_thread()),
        Flavor::MultiThread(Some((n, span))) => {
            let mut n = Literal::usize_unsuffixed(*n);
            n.set_span(*span);
            quote!(new_multi_thread().worker_threads(#n))
        }
    };
    // The test's path, as the harness prints it: `crate::module::name`.
    let name = format!("::{}", func.sig.ident.unraw());
    let future = async_body(&func.sig.output, stmts);
    let budgets = args.budgets.iter().map(|budget| {
        let key = &budget.key;
        let mut limit = Literal::u64_suffixed(budget.limit);
        limit.set_span(budget.span);
        quote_spanned!(budget.span=> #key <= #limit)
    });
    let check = if args.budgets.is_empty() {
        // Nothing to check: the body still runs measured, as with budgets.
        quote!()
    } else {
        quote!(::memscope::assert_mem!(__memscope_stats, #(#budgets),*);)
    };
    let mut outer = func.clone();
    outer.sig.asyncness = None;
    outer
        .outer_attrs
        .insert(0, parse_quote!(#[::core::prelude::v1::test]));
    outer.with_body(quote! {
        let __memscope_runtime = ::memscope::__private::tokio::runtime::Builder::#builder
            .enable_all()
            .build()
            .expect("memscope::test: could not build the tokio runtime");
        #[allow(clippy::async_yields_async)]
        let __memscope_future = #future;
        let (__memscope_output, __memscope_stats) = __memscope_runtime.block_on(
            ::memscope::measure_named(
                __memscope_future,
                ::core::concat!(::core::module_path!(), #name),
            ),
        );
        // Checked before the output is returned, so an `Err` test is held to its budgets too.
        #check
        __memscope_output
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expand_str(args: TokenStream, item: TokenStream) -> String {
        test(args, item).to_string()
    }

    #[test]
    fn without_the_tokio_feature_the_error_names_it_and_the_fn_is_kept() {
        let out = test_with(
            quote!(),
            quote!(
                async fn t() {}
            ),
            false,
        )
        .to_string();
        assert!(out.starts_with("async fn t () { }"), "{out}");
        assert!(out.contains("needs memscope's `tokio` feature"), "{out}");
    }

    #[test]
    fn runs_the_body_measured_and_checks_the_budgets_in_the_order_written() {
        let out = expand_str(
            quote!(peak = "256 KiB", retained = 0, allocations = 96),
            quote!(
                async fn parses_small_requests() {
                    let v = vec![0u8; 1000];
                    assert_eq!(v.len(), 1000);
                }
            ),
        );
        assert!(
            out.starts_with(
                "# [:: core :: prelude :: v1 :: test] fn parses_small_requests () { \
                 let __memscope_runtime = :: memscope :: __private :: tokio :: runtime :: \
                 Builder :: new_current_thread () . enable_all () . build () \
                 . expect (\"memscope::test: could not build the tokio runtime\") ;"
            ),
            "{out}"
        );
        assert!(
            out.contains("let v = vec ! [0u8 ; 1000] ; assert_eq ! (v . len () , 1000) ; } ;"),
            "{out}"
        );
        assert!(
            out.contains(
                "let (__memscope_output , __memscope_stats) = __memscope_runtime . block_on (\
             :: memscope :: measure_named (__memscope_future , :: core :: concat ! \
             (:: core :: module_path ! () , \"::parses_small_requests\") ,) ,) ;"
            ),
            "{out}"
        );
        assert!(
            out.ends_with(
                ":: memscope :: assert_mem ! (__memscope_stats , peak <= 262144u64 , \
                 retained <= 0u64 , allocations <= 96u64) ; __memscope_output }"
            ),
            "{out}"
        );
        assert!(!out.contains("compile_error"), "{out}");
    }

    #[test]
    fn keeps_the_return_type_and_the_attributes_below_it() {
        let out = expand_str(
            quote!(flavor = "multi_thread", worker_threads = 2, tasks = 3),
            quote!(
                #[should_panic(expected = "over budget")]
                async fn r#loop() -> Result<(), Box<dyn Error>> {
                    #![allow(unused)]
                    step().await?;
                    Ok(())
                }
            ),
        );
        assert!(
            out.starts_with(
                "# [:: core :: prelude :: v1 :: test] \
                 # [should_panic (expected = \"over budget\")] \
                 fn r#loop () -> Result < () , Box < dyn Error > > { # ! [allow (unused)] \
                 let __memscope_runtime = :: memscope :: __private :: tokio :: runtime :: \
                 Builder :: new_multi_thread () . worker_threads (2) . enable_all ()"
            ),
            "{out}"
        );
        // `?` converts into the declared error type.
        assert!(
            out.contains("let __memscope_fake_return : Result < () , Box < dyn Error > >"),
            "{out}"
        );
        assert!(out.contains("\"::loop\""), "{out}");
        assert!(
            out.ends_with("assert_mem ! (__memscope_stats , tasks <= 3u64) ; __memscope_output }"),
            "{out}"
        );
    }

    #[test]
    fn without_budgets_there_is_nothing_to_check() {
        let out = expand_str(
            quote!(flavor = "multi_thread"),
            quote!(
                async fn t() {}
            ),
        );
        assert!(
            out.contains("Builder :: new_multi_thread () . enable_all ()"),
            "{out}"
        );
        assert!(!out.contains("assert_mem"), "{out}");
        assert!(out.ends_with(") ,) ; __memscope_output }"), "{out}");
    }

    #[test]
    fn a_sync_fn_is_an_error_but_still_expands() {
        let out = expand_str(
            quote!(),
            quote!(
                fn t() {}
            ),
        );
        assert!(out.contains("measure_named"), "{out}");
        assert_eq!(out.matches("compile_error").count(), 1, "{out}");
        assert!(out.contains(&not_async("test")), "{out}");
    }

    #[test]
    fn bad_arguments_are_errors_but_still_expand_without_them() {
        let out = expand_str(
            quote!(peak = "1 MB", allocations = 5, heap = 1, worker_threads = 2),
            quote!(
                async fn t() {}
            ),
        );
        assert!(out.contains("Builder :: new_current_thread ()"), "{out}");
        assert!(
            out.contains("assert_mem ! (__memscope_stats , allocations <= 5u64) ;"),
            "{out}"
        );
        assert_eq!(out.matches("compile_error").count(), 3, "{out}");
    }

    #[test]
    fn parameters_are_an_error_and_the_fn_comes_back_unchanged() {
        let item = quote!(
            async fn t(port: u16) {}
        );
        let out = expand_str(quote!(), item.clone());
        assert!(out.starts_with(&item.to_string()), "{out}");
        assert!(out.contains("cannot take parameters"), "{out}");
        assert_eq!(out.matches("compile_error").count(), 1, "{out}");
    }

    #[test]
    fn an_item_that_is_not_a_fn_or_has_no_body_comes_back_unchanged() {
        let out = expand_str(
            quote!(),
            quote!(
                struct S;
            ),
        );
        assert!(out.starts_with("struct S ;"), "{out}");
        assert!(out.contains(&not_async("test")), "{out}");
        let out = expand_str(
            quote!(),
            quote!(
                async fn t();
            ),
        );
        assert!(out.starts_with("async fn t () ;"), "{out}");
        assert!(out.contains("needs a fn body"), "{out}");
    }
}
