//! The annotated fn, parsed loosely, and the pieces both expansions share.
//!
//! Like tokio-macros, the body is kept as raw tokens instead of a parsed
//! `syn::Block`: a body with a syntax error still expands, so rustc reports
//! that error at the user's own token and IDE completion keeps working inside
//! a half-written fn.

use proc_macro2::{Span, TokenStream, TokenTree};
use quote::{quote, quote_spanned, ToTokens};
use syn::parse::{Parse, ParseStream};
use syn::spanned::Spanned;
use syn::{
    braced, token, Attribute, GenericArgument, PathArguments, ReturnType, Signature, Token, Type,
    Visibility,
};

/// An fn item, or a trait method with or without a body.
#[derive(Clone)]
pub(crate) struct FnItem {
    pub(crate) outer_attrs: Vec<Attribute>,
    pub(crate) vis: Visibility,
    pub(crate) sig: Signature,
    pub(crate) body: Option<FnBody>,
}

#[derive(Clone)]
pub(crate) struct FnBody {
    pub(crate) brace: token::Brace,
    pub(crate) inner_attrs: Vec<Attribute>,
    pub(crate) stmts: TokenStream,
}

impl Parse for FnItem {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let outer_attrs = input.call(Attribute::parse_outer)?;
        let vis = input.parse()?;
        let sig = input.parse()?;
        let body = if input.peek(Token![;]) {
            input.parse::<Token![;]>()?;
            None
        } else {
            let content;
            let brace = braced!(content in input);
            let inner_attrs = content.call(Attribute::parse_inner)?;
            let stmts = content.parse()?;
            Some(FnBody {
                brace,
                inner_attrs,
                stmts,
            })
        };
        Ok(Self {
            outer_attrs,
            vis,
            sig,
            body,
        })
    }
}

impl FnItem {
    /// Parses the annotated item. Something that is not a fn at all gets the
    /// attribute's own message; a fn with a malformed signature keeps syn's,
    /// which points into the signature.
    pub(crate) fn parse(item: &TokenStream, attribute: &str) -> syn::Result<Self> {
        syn::parse2(item.clone()).map_err(|error| {
            let mut tokens = item.clone().into_iter().peekable();
            let mut has_fn = false;
            let mut first = None;
            while let Some(token) = tokens.next() {
                match &token {
                    // An outer attribute: `#` then `[...]`.
                    TokenTree::Punct(p) if p.as_char() == '#' && first.is_none() => {
                        tokens.next_if(|t| matches!(t, TokenTree::Group(_)));
                    }
                    TokenTree::Ident(ident) => {
                        has_fn |= ident == "fn";
                        first.get_or_insert(token.span());
                    }
                    _ => {
                        first.get_or_insert(token.span());
                    }
                }
            }
            match (has_fn, first) {
                (false, Some(span)) => syn::Error::new(span, not_async(attribute)),
                _ => error,
            }
        })
    }

    /// The item with `body` in place of its statements, inner attributes kept.
    pub(crate) fn with_body(&self, body: TokenStream) -> TokenStream {
        let Self {
            outer_attrs,
            vis,
            sig,
            ..
        } = self;
        let mut block = TokenStream::new();
        match &self.body {
            Some(FnBody {
                brace, inner_attrs, ..
            }) => brace.surround(&mut block, |tokens| {
                tokens.extend(inner_attrs.iter().map(ToTokens::to_token_stream));
                tokens.extend(body);
            }),
            None => block.extend(quote!({ #body })),
        }
        quote!(#(#outer_attrs)* #vis #sig #block)
    }
}

impl ToTokens for FnItem {
    fn to_tokens(&self, tokens: &mut TokenStream) {
        let Self {
            outer_attrs,
            vis,
            sig,
            ..
        } = self;
        tokens.extend(quote!(#(#outer_attrs)* #vis #sig));
        match &self.body {
            Some(body) => body.brace.surround(tokens, |tokens| {
                let inner = &body.inner_attrs;
                tokens.extend(quote!(#(#inner)*));
                tokens.extend(body.stmts.clone());
            }),
            None => tokens.extend(quote!(;)),
        }
    }
}

/// The user's body as an `async move` block whose output type is tied to the
/// declared return type.
///
/// The "fake return edge" (from tracing-attributes) is a `return` of a value of
/// the declared type that never runs. Without it the block's output type is
/// inferred from the body alone: `?` would not know which error type to
/// convert into, and a type mismatch would be reported at our `.await` instead
/// of at the user's tail expression.
pub(crate) fn async_body(output: &ReturnType, stmts: &TokenStream) -> TokenStream {
    let (ty, span) = match output {
        ReturnType::Default => (quote!(()), Span::call_site()),
        ReturnType::Type(_, ty) => (erase_impl_trait(ty).into_token_stream(), ty.span()),
    };
    let edge = quote_spanned! {span=>
        #[allow(
            unknown_lints,
            unreachable_code,
            clippy::diverging_sub_expression,
            clippy::empty_loop,
            clippy::let_unit_value,
            clippy::let_with_type_underscore,
            clippy::needless_return,
            clippy::unreachable
        )]
        if false {
            let __memscope_fake_return: #ty = loop {};
            return __memscope_fake_return;
        }
    };
    quote!(async move { #edge #stmts })
}

/// `let x: impl Trait` is not allowed, so each `impl Trait` in the return type
/// becomes `_` in the fake return edge; the rest of the type still guides
/// inference.
fn erase_impl_trait(ty: &Type) -> Type {
    let mut ty = ty.clone();
    erase_in(&mut ty);
    ty
}

fn erase_in(ty: &mut Type) {
    match ty {
        Type::ImplTrait(_) => {
            *ty = Type::Infer(syn::TypeInfer {
                underscore_token: Token![_](ty.span()),
            })
        }
        Type::Array(inner) => erase_in(&mut inner.elem),
        Type::Group(inner) => erase_in(&mut inner.elem),
        Type::Paren(inner) => erase_in(&mut inner.elem),
        Type::Ptr(inner) => erase_in(&mut inner.elem),
        Type::Reference(inner) => erase_in(&mut inner.elem),
        Type::Slice(inner) => erase_in(&mut inner.elem),
        Type::Tuple(tuple) => tuple.elems.iter_mut().for_each(erase_in),
        Type::Path(path) => {
            if let Some(qself) = &mut path.qself {
                erase_in(&mut qself.ty);
            }
            for segment in &mut path.path.segments {
                match &mut segment.arguments {
                    PathArguments::AngleBracketed(args) => {
                        for arg in &mut args.args {
                            match arg {
                                GenericArgument::Type(ty) => erase_in(ty),
                                GenericArgument::AssocType(assoc) => erase_in(&mut assoc.ty),
                                _ => {}
                            }
                        }
                    }
                    PathArguments::Parenthesized(args) => {
                        args.inputs.iter_mut().for_each(erase_in);
                        if let ReturnType::Type(_, ty) = &mut args.output {
                            erase_in(ty);
                        }
                    }
                    PathArguments::None => {}
                }
            }
        }
        _ => {}
    }
}

/// Appends `error` to `tokens`: the item is kept, so there is one error, not a
/// cascade of "cannot find function" errors at every call site.
/// The message for an attribute put on something other than an `async fn`: written once.
pub(crate) fn not_async(attribute: &str) -> String {
    format!("`#[memscope::{attribute}]` can only be applied to an `async fn`")
}

pub(crate) fn with_error(mut tokens: TokenStream, error: &syn::Error) -> TokenStream {
    tokens.extend(error.to_compile_error());
    tokens
}

#[cfg(test)]
mod tests {
    use super::*;

    fn erase(ty: TokenStream) -> String {
        erase_impl_trait(&syn::parse2(ty).unwrap())
            .to_token_stream()
            .to_string()
    }

    #[test]
    fn impl_trait_is_erased_wherever_it_nests() {
        assert_eq!(erase(quote!(impl Iterator<Item = u8>)), "_");
        assert_eq!(
            erase(quote!(Result<impl Display, Box<dyn Error>>)),
            "Result < _ , Box < dyn Error > >"
        );
        assert_eq!(
            erase(quote!((&'a impl Fn(), [impl Sized; 2]))),
            "(& 'a _ , [_ ; 2])"
        );
        assert_eq!(
            erase(quote!(Box<dyn Fn(impl A) -> impl B>)),
            "Box < dyn Fn (impl A) -> impl B >"
        );
        assert_eq!(erase(quote!(F<Output = impl Sized>)), "F < Output = _ >");
    }

    #[test]
    fn parses_trait_methods_without_body_and_keeps_inner_attributes() {
        let item: FnItem = syn::parse2(quote!(
            async fn f(&self) -> u8;
        ))
        .unwrap();
        assert!(item.body.is_none());
        let item: FnItem = syn::parse2(quote!(
            /// doc
            pub async fn f() {
                #![allow(unused)]
                let x = 1;
            }
        ))
        .unwrap();
        let body = item.body.as_ref().unwrap();
        assert_eq!(body.inner_attrs.len(), 1);
        assert_eq!(body.stmts.to_string(), "let x = 1 ;");
        assert_eq!(
            item.with_body(quote!(body())).to_string(),
            quote!(
                #[doc = r" doc"]
                pub async fn f() {
                    #![allow(unused)]
                    body()
                }
            )
            .to_string()
        );
    }

    #[test]
    fn something_else_than_a_fn_gets_the_attribute_message() {
        let message = |item: TokenStream| FnItem::parse(&item, "track").err().unwrap().to_string();
        assert_eq!(
            message(quote!(
                #[derive(Debug)]
                struct S;
            )),
            "`#[memscope::track]` can only be applied to an `async fn`"
        );
        let malformed = message(quote!(async fn f(x: ) {}));
        assert!(
            malformed.starts_with("unexpected end of input"),
            "{malformed}"
        );
    }

    #[test]
    fn a_body_with_a_syntax_error_still_parses() {
        let item: FnItem = syn::parse2(quote!(async fn f() { let = ; })).unwrap();
        assert_eq!(item.body.unwrap().stmts.to_string(), "let = ;");
    }

    #[test]
    fn the_fake_return_edge_uses_the_declared_type() {
        let output: ReturnType = syn::parse2(quote!(-> Result<impl Sized, E>)).unwrap();
        let body = async_body(&output, &quote!(Ok(1))).to_string();
        assert!(body.starts_with("async move {"), "{body}");
        assert!(
            body.contains("let __memscope_fake_return : Result < _ , E > = loop { } ;"),
            "{body}"
        );
        assert!(body.ends_with("Ok (1) }"), "{body}");
        let body = async_body(&ReturnType::Default, &quote!()).to_string();
        assert!(
            body.contains("let __memscope_fake_return : () = loop { } ;"),
            "{body}"
        );
    }
}
