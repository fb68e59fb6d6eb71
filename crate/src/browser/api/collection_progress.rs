//! A collection's progress through the page's one `onProgress`: each file's own reports
//! (`share`'s or `download`'s), with where the file stands in the collection.

use js_sys::{Function, Object, Reflect};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};

/// Passes each file's reports on to `user` with `path`, `file` (its index), `files` (how many)
/// and, when the totals are known, `collectionBytes` (the earlier files' totals plus this
/// report's `bytes`) and `collectionTotal`.
pub(crate) struct CollectionProgress {
    user: Function,
    files: usize,
    /// Each file's total, in the units of its reports, when known beforehand.
    totals: Option<Vec<u64>>,
}

/// The callback handed to one file's share or download; reports stop when it is dropped.
pub(crate) struct FileProgress(Closure<dyn FnMut(JsValue)>);

impl FileProgress {
    /// The callback to pass as the file's `onProgress`.
    pub(crate) fn function(&self) -> Function {
        self.0.as_ref().unchecked_ref::<Function>().clone()
    }
}

impl CollectionProgress {
    /// Reports of `files` files, without collection totals.
    pub(crate) fn new(user: Function, files: usize) -> Self {
        Self {
            user,
            files,
            totals: None,
        }
    }

    /// Reports of files whose reports count to `totals` each.
    pub(crate) fn with_totals(user: Function, totals: Vec<u64>) -> Self {
        Self {
            user,
            files: totals.len(),
            totals: Some(totals),
        }
    }

    /// The callback for file `index`, at `path`.
    pub(crate) fn file(&self, index: usize, path: &str) -> FileProgress {
        let user = self.user.clone();
        let mut fields: Vec<(&'static str, JsValue)> = vec![
            ("path", path.into()),
            ("file", (index as f64).into()),
            ("files", (self.files as f64).into()),
        ];
        let before = self.totals.as_ref().map(|totals| {
            (
                totals[..index].iter().sum::<u64>(),
                totals.iter().sum::<u64>(),
            )
        });
        if let Some((_, total)) = before {
            fields.push(("collectionTotal", (total as f64).into()));
        }
        FileProgress(Closure::new(move |report: JsValue| {
            let out = Object::assign(&Object::new(), report.unchecked_ref());
            for (name, value) in &fields {
                let _ = Reflect::set(&out, &(*name).into(), value);
            }
            if let Some((earlier, _)) = before {
                let bytes = Reflect::get(&report, &"bytes".into())
                    .ok()
                    .and_then(|b| b.as_f64())
                    .unwrap_or(0.0);
                let _ = Reflect::set(
                    &out,
                    &"collectionBytes".into(),
                    &(earlier as f64 + bytes).into(),
                );
            }
            let _ = user.call1(&JsValue::NULL, &out);
        }))
    }
}
