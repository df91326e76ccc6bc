//! [`Flash`] as a minijinja value (feature `minijinja`): an iterable whose messages are taken
//! only when a template iterates it.

use std::sync::Arc;

use minijinja::value::{Enumerator, Object, ObjectRepr, Value};

use crate::handles::flash::Flash;

/// The messages of a [`Flash`], for a template: iterating takes them (each a map with
/// `message` and `level`); `{% if flashes %}` and `flashes|length` only look. A page that never
/// iterates them leaves them for the next page, as Django's message framework does.
///
/// ```
/// use axum_session_store::{Flash, SessionConfig};
/// use minijinja::{context, Environment, Value};
///
/// async fn page(flash: Flash) -> Result<(Flash, String), minijinja::Error> {
///     let mut env = Environment::new();
///     env.add_template(
///         "page",
///         "{% for m in flashes %}<p class=\"{{ m.level }}\">{{ m.message }}</p>{% endfor %}",
///     )?;
///     let html = env.get_template("page")?.render(context! { flashes => Value::from(flash.clone()) })?;
///     Ok((flash, html))
/// }
/// ```
#[cfg_attr(docsrs, doc(cfg(feature = "minijinja")))]
impl<N: 'static> Object for Flash<N> {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Iterable
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        let messages = self.take().iter().map(Value::from_serialize).collect();
        Enumerator::Values(messages)
    }

    /// Without taking them: the default would iterate.
    fn enumerator_len(self: &Arc<Self>) -> Option<usize> {
        Some(self.peek().len())
    }
}

/// A [`Flash`] as a template value; see its [`Object`] implementation.
#[cfg_attr(docsrs, doc(cfg(feature = "minijinja")))]
impl<N: 'static> From<Flash<N>> for Value {
    fn from(flash: Flash<N>) -> Self {
        Value::from_object(flash)
    }
}
