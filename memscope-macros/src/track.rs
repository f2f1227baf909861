//! Expansion of `#[memscope::track]`.
//!
//! The signature is re-emitted verbatim, `async` included; the body moves into
//! an `async move` block that `::memscope::__private::track` wraps, and the fn
//! awaits it. So each call of the fn is one tracked task instance, and the fn
//! keeps its signature, its `Send`-ness and its place in traits.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned, ToTokens};
use syn::ext::IdentExt;
use syn::spanned::Spanned;

use crate::args::TrackArgs;
use crate::item::{async_body, not_async, with_error, FnItem};

/// `#[memscope::track(args)] item`, on `proc_macro2` streams.
pub(crate) fn track(args: TokenStream, item: TokenStream) -> TokenStream {
    let func = match FnItem::parse(&item, "track") {
        Ok(func) => func,
        Err(error) => return with_error(item, &error),
    };
    if let Err(error) = check_shape(&func) {
        return with_error(func.into_token_stream(), &error);
    }
    // Bad arguments still expand, with defaults for what was bad, so the fn
    // keeps working for callers and only the argument is reported.
    let (args, result) = TrackArgs::parse(args);
    let expanded = expand(&func, &args);
    match result {
        Ok(()) => expanded,
        Err(error) => with_error(expanded, &error),
    }
}

fn check_shape(func: &FnItem) -> syn::Result<()> {
    if func.sig.asyncness.is_none() {
        let message = if looks_like_async_trait(func) {
            format!(
                "{}; `#[async_trait]` methods are not supported, write the method as a \
                 native `async fn` in the trait instead",
                not_async("track")
            )
        } else {
            not_async("track")
        };
        return Err(syn::Error::new(func.sig.fn_token.span, message));
    }
    if func.body.is_none() {
        return Err(syn::Error::new_spanned(
            &func.sig,
            "`#[memscope::track]` needs a fn body; put it on the method in the `impl` block, \
             or on a default method of the trait",
        ));
    }
    Ok(())
}

/// `#[async_trait]` has already turned the method into a plain fn returning
/// `Pin<Box<dyn Future<...> + Send + 'async_trait>>` by the time we see it.
fn looks_like_async_trait(func: &FnItem) -> bool {
    let output = func.sig.output.to_token_stream().to_string();
    output.contains("Pin") && output.contains("Future")
}

fn expand(func: &FnItem, args: &TrackArgs) -> TokenStream {
    let fn_name = func.sig.ident.unraw().to_string();
    let name = match &args.name {
        Some(lit) => lit.to_token_stream(),
        // A method: `Type::method`, the type known only where the code is monomorphised.
        None if func.sig.receiver().is_some() => quote!({
            static __MEMSCOPE_NAME: ::memscope::__private::MethodName =
                ::memscope::__private::MethodName::new(#fn_name);
            __MEMSCOPE_NAME.get(::core::any::type_name::<Self>())
        }),
        // Free or associated: the path of an item declared here says which (`Db::open`).
        None => quote!({
            fn __memscope_here() {}
            static __MEMSCOPE_NAME: ::memscope::__private::FnName =
                ::memscope::__private::FnName::new();
            __MEMSCOPE_NAME.get(::core::any::type_name_of_val(&__memscope_here))
        }),
    };
    let task_type = match &args.task_type {
        Some((variant, span)) => quote_spanned!(*span=>
            ::core::option::Option::Some(::memscope::__private::TaskType::#variant)),
        // The parent's type: a nested tracked fn is part of its caller's kind of work.
        None => quote!(::core::option::Option::None),
    };
    let stmts = func.body.as_ref().map(|body| &body.stmts);
    let future = async_body(&func.sig.output, &stmts.cloned().unwrap_or_default());
    // The allow is for a fn declared to return a future: the block then yields
    // that future, exactly as the fn body did.
    // The label is taken before the body's future captures the arguments it may name.
    let Some(label) = &args.label else {
        return func.with_body(quote! {
            #[allow(clippy::async_yields_async)]
            let __memscope_future = #future;
            ::memscope::__private::track(#name, #task_type, __memscope_future).await
        });
    };
    // Spanned: a label that is not `Display` is an error on the label, not the attribute.
    let to_string = quote_spanned!(label.span()=> ::std::string::ToString::to_string(&(#label)));
    func.with_body(quote! {
        let __memscope_label = #to_string;
        #[allow(clippy::async_yields_async)]
        let __memscope_future = #future;
        ::memscope::__private::track(#name, #task_type, __memscope_future)
            .labeled(__memscope_label)
            .await
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expand_str(args: TokenStream, item: TokenStream) -> String {
        track(args, item).to_string()
    }

    #[test]
    fn keeps_the_signature_and_wraps_the_body() {
        let out = expand_str(
            quote!(),
            quote!(
                pub async fn fetch<'a, T: Clone>(&'a self, x: T) -> Result<T, E>
                where
                    T: Send,
                {
                    let y = x?;
                    Ok(y)
                }
            ),
        );
        assert!(
            out.starts_with("pub async fn fetch < 'a , T : Clone > (& 'a self , x : T) -> Result < T , E > where T : Send , {"),
            "{out}"
        );
        assert!(
            out.contains("let __memscope_future = async move {"),
            "{out}"
        );
        assert!(out.contains("let y = x ? ; Ok (y) } ;"), "{out}");
        // A method is named after its type: `Type::fetch`.
        assert!(out.ends_with(
            ":: memscope :: __private :: track ({ static __MEMSCOPE_NAME : :: memscope :: __private :: MethodName = \
             :: memscope :: __private :: MethodName :: new (\"fetch\") ; \
             __MEMSCOPE_NAME . get (:: core :: any :: type_name :: < Self > ()) } , \
             :: core :: option :: Option :: None , __memscope_future) . await }"
        ), "{out}");
        assert!(!out.contains("compile_error"), "{out}");
    }

    #[test]
    fn a_fn_without_self_is_named_by_where_it_is_declared() {
        let out = expand_str(
            quote!(),
            quote!(
                async fn fetch() {}
            ),
        );
        // `Db::fetch` in an impl, `module::fetch` when free: the runtime reads the path.
        assert!(
            out.contains(
                ":: memscope :: __private :: track ({ fn __memscope_here () { } \
             static __MEMSCOPE_NAME : :: memscope :: __private :: FnName = \
             :: memscope :: __private :: FnName :: new () ; \
             __MEMSCOPE_NAME . get (:: core :: any :: type_name_of_val (& __memscope_here)) } ,"
            ),
            "{out}"
        );
    }

    #[test]
    fn uses_name_and_task_type() {
        let out = expand_str(
            quote!(name = "fetch_user", task_type = "network"),
            quote!(
                async fn f() {}
            ),
        );
        assert!(
            out.contains("track (\"fetch_user\" , :: core :: option :: Option :: Some (:: memscope :: __private :: TaskType :: NetworkIntensive) ,"),
            "{out}"
        );
    }

    #[test]
    fn raw_identifiers_are_named_without_prefix() {
        let out = expand_str(
            quote!(),
            quote!(
                async fn r#match(&self) {}
            ),
        );
        // (Without `self`, `type_name` already writes the path without `r#`.)
        assert!(out.contains("\"match\""), "{out}");
    }

    #[test]
    fn bad_arguments_still_expand_with_defaults() {
        let out = expand_str(
            quote!(task_type = "gpu", level = 1),
            quote!(
                async fn f() {}
            ),
        );
        assert!(out.contains(":: core :: option :: Option :: None"), "{out}");
        assert!(
            out.contains("compile_error ! { \"unknown task_type `gpu`"),
            "{out}"
        );
        assert!(
            out.contains("compile_error ! { \"unknown argument `level`"),
            "{out}"
        );
    }

    #[test]
    fn a_non_async_fn_comes_back_unchanged_with_one_error() {
        let item = quote!(
            fn f() -> u8 {
                1
            }
        );
        let out = expand_str(quote!(), item.clone());
        assert!(out.starts_with(&item.to_string()), "{out}");
        assert_eq!(out.matches("compile_error").count(), 1, "{out}");
        assert!(out.contains(&not_async("track")), "{out}");
        assert!(!out.contains("async_trait"), "{out}");
    }

    #[test]
    fn an_async_trait_method_is_named_in_the_error() {
        let out = expand_str(
            quote!(),
            quote!(
                fn f<'life0, 'async_trait>(
                    &'life0 self,
                ) -> ::core::pin::Pin<
                    Box<dyn ::core::future::Future<Output = u8> + Send + 'async_trait>,
                > {
                    Box::pin(async move { 1 })
                }
            ),
        );
        assert!(
            out.contains("`#[async_trait]` methods are not supported"),
            "{out}"
        );
    }

    #[test]
    fn a_method_without_body_is_an_error() {
        let out = expand_str(
            quote!(),
            quote!(
                async fn f(&self) -> u8;
            ),
        );
        assert!(out.starts_with("async fn f (& self) -> u8 ;"), "{out}");
        assert!(out.contains("needs a fn body"), "{out}");
    }

    #[test]
    fn an_item_that_is_not_a_fn_comes_back_unchanged() {
        let item = quote!(
            struct S;
        );
        let out = expand_str(quote!(), item.clone());
        assert!(out.starts_with(&item.to_string()), "{out}");
        assert_eq!(out.matches("compile_error").count(), 1, "{out}");
    }
}
