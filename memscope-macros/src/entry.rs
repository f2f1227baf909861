//! Expansion of `#[memscope::main]`.
//!
//! memscope's own arguments configure the session; tokio's are handed to
//! `#[tokio::main]` verbatim, so tokio validates them with the messages its
//! users know. The body runs as the root tracked task, between the start and
//! the finish of the session.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned, ToTokens};
use syn::ext::IdentExt;
use syn::spanned::Spanned;
use syn::Token;

use crate::args::{Errors, MainArgs};
use crate::item::{async_body, not_async, with_error, FnItem};

/// Why `#[memscope::main]` cannot expand when the facade's `tokio` feature is off.
const NEEDS_TOKIO: &str = "`#[memscope::main]` needs memscope's `tokio` feature; enable it: \
                           `memscope = { version = \"0.1\", features = [\"tokio\"] }`";

/// `#[memscope::main(args)] item`, on `proc_macro2` streams.
pub(crate) fn main(args: TokenStream, item: TokenStream) -> TokenStream {
    main_with(args, item, cfg!(feature = "tokio"))
}

/// [`main`], with the facade's `tokio` feature on or off.
fn main_with(args: TokenStream, item: TokenStream, tokio: bool) -> TokenStream {
    if !tokio {
        // The expansion names `::memscope::__private::tokio`, which exists only then.
        return with_error(
            item,
            &syn::Error::new(proc_macro2::Span::call_site(), NEEDS_TOKIO),
        );
    }
    let mut func = match FnItem::parse(&item, "main") {
        Ok(func) => func,
        Err(error) => return with_error(item, &error),
    };
    let Some(body) = &func.body else {
        let error = syn::Error::new(func.sig.span(), "`#[memscope::main]` needs a fn body");
        return with_error(func.into_token_stream(), &error);
    };
    let stmts = body.stmts.clone();

    if !func.sig.inputs.is_empty() {
        // Expanding would add tokio's "cannot accept arguments" or rustc's
        // "wrong type" to ours: the fn comes back as written instead.
        let error = syn::Error::new_spanned(
            &func.sig.inputs,
            "`#[memscope::main]` fn cannot take parameters; remove them",
        );
        return with_error(func.into_token_stream(), &error);
    }
    let mut errors = Errors::default();
    if func.sig.asyncness.is_none() {
        errors.push(syn::Error::new(func.sig.fn_token.span, not_async("main")));
        // A sync body runs as well inside an async block: expanding it keeps
        // the program whole, so this is the only error the user sees.
        func.sig.asyncness = Some(Token![async](func.sig.fn_token.span));
    }
    let (args, result) = MainArgs::parse(args);
    errors.push_result(result);

    let expanded = expand(&func, &args, &stmts);
    match errors.into_result() {
        Ok(()) => expanded,
        Err(error) => with_error(expanded, &error),
    }
}

fn expand(func: &FnItem, args: &MainArgs, stmts: &TokenStream) -> TokenStream {
    let mut options = quote!(::memscope::__private::SessionOptions::new());
    if let Some(report) = &args.report {
        options.extend(quote_spanned!(report.span()=> .report(#report)));
    }
    if let Some(summary) = &args.summary {
        options.extend(quote_spanned!(summary.span()=> .summary(#summary)));
    }
    if let Some(format) = &args.format {
        options.extend(quote_spanned!(format.span()=> .format(#format)));
    }
    if let Some(serve) = &args.serve {
        options.extend(quote_spanned!(serve.span()=> .serve(#serve)));
    }
    let tokio_args = &args.tokio;
    let name = func.sig.ident.unraw().to_string();
    let future = async_body(&func.sig.output, stmts);
    let output = &func.sig.output;
    // `main` itself exits with a failure when the report asked for could not be written;
    // a fn of another name gives its output back to its caller, as written.
    let end = if func.sig.ident == "main" {
        quote!(end_main)
    } else {
        quote!(end)
    };
    let mut outer = func.clone();
    outer.sig.asyncness = None;
    outer.with_body(quote! {
        let __memscope_session = ::memscope::__private::Session::start(#options);
        #[::memscope::__private::tokio::main(crate = "::memscope::__private::tokio" #(, #tokio_args)*)]
        async fn __memscope_main() #output {
            #[allow(clippy::async_yields_async)]
            let __memscope_future = #future;
            ::memscope::__private::track(
                #name,
                ::core::option::Option::Some(::memscope::__private::TaskType::Unspecified),
                __memscope_future,
            )
            .await
        }
        // The runtime is gone once this returns, its tasks dropped: the figures at the end
        // are taken where no tracked task runs or is being dropped.
        let __memscope_output = __memscope_main();
        ::memscope::__private::#end(__memscope_session, __memscope_output)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_the_tokio_feature_the_error_names_it_and_the_fn_is_kept() {
        let out = main_with(
            quote!(),
            quote!(
                async fn main() {}
            ),
            false,
        )
        .to_string();
        assert!(out.starts_with("async fn main () { }"), "{out}");
        assert!(out.contains("needs memscope's `tokio` feature"), "{out}");
    }

    fn expand_str(args: TokenStream, item: TokenStream) -> String {
        main(args, item).to_string()
    }

    #[test]
    fn passes_tokio_arguments_and_configures_the_session() {
        let out = expand_str(
            quote!(
                flavor = "current_thread",
                report = "target/x.json",
                summary = false,
                format = "json"
            ),
            quote!(
                async fn main() -> Result<(), Box<dyn Error>> {
                    run().await?;
                    Ok(())
                }
            ),
        );
        assert!(
            out.starts_with("fn main () -> Result < () , Box < dyn Error > > {"),
            "{out}"
        );
        assert!(out.contains(
            "# [:: memscope :: __private :: tokio :: main (crate = \"::memscope::__private::tokio\" , flavor = \"current_thread\")] \
             async fn __memscope_main () -> Result < () , Box < dyn Error > > {"
        ), "{out}");
        assert!(out.contains(
            "let __memscope_session = :: memscope :: __private :: Session :: start (:: memscope :: __private :: SessionOptions :: new () \
             . report (\"target/x.json\") . summary (false) . format (\"json\")) ;"
        ), "{out}");
        assert!(out.contains("run () . await ? ; Ok (()) } ;"), "{out}");
        assert!(out.contains(
            "track (\"main\" , :: core :: option :: Option :: Some (:: memscope :: __private :: TaskType :: Unspecified) , \
             __memscope_future ,) . await }"
        ), "{out}");
        // The session ends after the runtime (built and dropped inside `__memscope_main`).
        assert!(
            out.ends_with(
                "let __memscope_output = __memscope_main () ; \
                 :: memscope :: __private :: end_main (__memscope_session , __memscope_output) }"
            ),
            "{out}"
        );
        assert!(!out.contains("compile_error"), "{out}");
    }

    #[test]
    fn defaults_and_any_fn_name() {
        let out = expand_str(
            quote!(),
            quote!(
                async fn async_web_server_simulation() {}
            ),
        );
        assert!(
            out.starts_with("fn async_web_server_simulation () {"),
            "{out}"
        );
        assert!(out.contains(
            "# [:: memscope :: __private :: tokio :: main (crate = \"::memscope::__private::tokio\")] async fn __memscope_main () {"
        ), "{out}");
        // Another fn than `main` gives its output back to its caller, whatever the report.
        assert!(
            out.ends_with(
                ":: memscope :: __private :: end (__memscope_session , __memscope_output) }"
            ),
            "{out}"
        );
        assert!(out.contains("SessionOptions :: new ()) ;"), "{out}");
        assert!(
            out.contains("track (\"async_web_server_simulation\" ,"),
            "{out}"
        );
    }

    #[test]
    fn a_sync_fn_is_an_error_but_still_expands() {
        let out = expand_str(
            quote!(),
            quote!(
                fn main() {}
            ),
        );
        assert!(out.contains("async fn __memscope_main"), "{out}");
        assert_eq!(out.matches("compile_error").count(), 1, "{out}");
        assert!(
            out.contains("can only be applied to an `async fn`"),
            "{out}"
        );
    }

    #[test]
    fn bad_arguments_are_errors_but_still_expand() {
        let out = expand_str(
            quote!(crate = "tokio", port = 1, worker_threads = 2),
            quote!(
                async fn main() {}
            ),
        );
        assert!(out.contains(
            "# [:: memscope :: __private :: tokio :: main (crate = \"::memscope::__private::tokio\" , worker_threads = 2)]"
        ), "{out}");
        assert_eq!(out.matches("compile_error").count(), 2, "{out}");
    }

    #[test]
    fn parameters_are_an_error_and_the_fn_comes_back_unchanged() {
        let item = quote!(
            async fn main(port: u16) {}
        );
        let out = expand_str(quote!(), item.clone());
        assert!(out.starts_with(&item.to_string()), "{out}");
        assert!(out.contains("cannot take parameters"), "{out}");
    }

    #[test]
    fn an_item_that_is_not_a_fn_comes_back_unchanged() {
        let out = expand_str(
            quote!(),
            quote!(
                const X: u8 = 1;
            ),
        );
        assert!(out.starts_with("const X : u8 = 1 ;"), "{out}");
        assert_eq!(out.matches("compile_error").count(), 1, "{out}");
    }
}
