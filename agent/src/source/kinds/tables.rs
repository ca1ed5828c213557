//! [`Sources`]: the `[source]` table, parsed kind by kind through a [`Registry`].
//!
//! `[source]` is read as a map from kind name to that kind's array of tables; each array is
//! handed to its kind's own deserializer (so an unknown key in `[[source.mllp]]` is reported by
//! serde at its line, as before). A name no kind has is skipped and remembered.

#[cfg(test)]
use std::any::Any;
use std::fmt;
use std::marker::PhantomData;
use std::path::Path;

use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde::Deserialize;

use super::{
    Builtin, Described, Registry, SourceKind, SourceProblem, Started, Starting, Visit, Wiring,
};

/// Every `[[source.KIND]]` of one config, erased to its kind.
trait Configured: fmt::Debug + Send + Sync {
    fn kind(&self) -> &'static str;
    fn describe(&self) -> Vec<Described<'_>>;
    fn problems(&self) -> Vec<(usize, SourceProblem)>;
    fn resolved_problems(&self) -> Vec<SourceProblem>;
    fn resolve_paths(&mut self, base: &Path);
    fn start<'a>(&'a self, wiring: &'a Wiring<'a>, started: &'a mut Started) -> Starting<'a>;
    #[cfg(test)]
    fn as_any(&self) -> &dyn Any;
    fn clone_box(&self) -> Box<dyn Configured>;
}

/// The tables of kind `K`, in config order.
struct Tables<K: SourceKind>(Vec<K::Config>);

impl<K: SourceKind> fmt::Debug for Tables<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple(K::NAME).field(&self.0).finish()
    }
}

impl<K: SourceKind> Configured for Tables<K> {
    fn kind(&self) -> &'static str {
        K::NAME
    }
    fn describe(&self) -> Vec<Described<'_>> {
        self.0.iter().map(K::describe).collect()
    }
    fn problems(&self) -> Vec<(usize, SourceProblem)> {
        let each = self.0.iter().enumerate();
        each.flat_map(|(i, c)| K::problems(c).into_iter().map(move |p| (i, p)))
            .collect()
    }
    fn resolved_problems(&self) -> Vec<SourceProblem> {
        self.0.iter().flat_map(K::resolved_problems).collect()
    }
    fn resolve_paths(&mut self, base: &Path) {
        for c in &mut self.0 {
            K::resolve_paths(c, base);
        }
    }
    fn start<'a>(&'a self, wiring: &'a Wiring<'a>, started: &'a mut Started) -> Starting<'a> {
        Box::pin(async move {
            for c in &self.0 {
                K::start(c, wiring, started).await?;
            }
            Ok(())
        })
    }
    #[cfg(test)]
    fn as_any(&self) -> &dyn Any {
        self
    }
    fn clone_box(&self) -> Box<dyn Configured> {
        Box::new(Tables::<K>(self.0.clone()))
    }
}

/// The `[source]` table: every configured source, by kind in the registry's order.
#[derive(Debug, Default)]
pub struct Sources {
    kinds: Vec<Box<dyn Configured>>,
    unknown: Vec<String>,
}

impl Clone for Sources {
    fn clone(&self) -> Self {
        Sources {
            kinds: self.kinds.iter().map(|k| k.clone_box()).collect(),
            unknown: self.unknown.clone(),
        }
    }
}

impl Sources {
    /// Each source with its kind's name, kinds in start order, sources in config order.
    pub fn described(&self) -> impl Iterator<Item = (&'static str, Described<'_>)> {
        self.kinds
            .iter()
            .flat_map(|k| k.describe().into_iter().map(move |d| (k.kind(), d)))
    }

    /// Every source's name.
    pub fn names(&self) -> Vec<String> {
        self.described().map(|(_, d)| d.name.to_string()).collect()
    }

    /// Whether no source is configured.
    pub fn is_empty(&self) -> bool {
        self.described().next().is_none()
    }

    /// The `[[source.X]]` names no kind has, in config order.
    pub fn unknown(&self) -> &[String] {
        &self.unknown
    }

    /// The tables of kind `K` (empty when there is none). Tests only: the agent goes through
    /// [`Sources::described`] and each kind's own code.
    #[cfg(test)]
    pub fn of<K: SourceKind>(&self) -> &[K::Config] {
        self.kinds
            .iter()
            .find_map(|k| k.as_any().downcast_ref::<Tables<K>>())
            .map_or(&[], |t| t.0.as_slice())
    }

    /// The pure problems of every source: `(kind, index of its table within the kind, problem)`.
    pub fn problems(&self) -> Vec<(&'static str, usize, SourceProblem)> {
        let each = self.kinds.iter();
        each.flat_map(|k| k.problems().into_iter().map(|(i, p)| (k.kind(), i, p)))
            .collect()
    }

    /// The problems found by opening what the sources will use (`check-config`).
    pub fn resolved_problems(&self) -> Vec<SourceProblem> {
        self.kinds
            .iter()
            .flat_map(|k| k.resolved_problems())
            .collect()
    }

    /// Makes every source's relative paths relative to `base`, the config file's folder.
    pub fn resolve_paths(&mut self, base: &Path) {
        for k in &mut self.kinds {
            k.resolve_paths(base);
        }
    }

    /// Starts every source, kinds in registry order; the first that cannot start stops it.
    pub async fn start(
        &self,
        wiring: &Wiring<'_>,
        started: &mut Started,
    ) -> Result<(), super::StartError> {
        for k in &self.kinds {
            k.start(wiring, started).await?;
            tracing::debug!(kind = k.kind(), "sources of this kind started");
        }
        Ok(())
    }

    /// Reads a `[source]` table with the kinds of `R` (the config uses [`Builtin`]).
    pub fn deserialize_with<'de, R: Registry, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Self, D::Error> {
        d.deserialize_map(SourcesVisitor::<R>(PhantomData))
    }
}

impl<'de> Deserialize<'de> for Sources {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Sources::deserialize_with::<Builtin, D>(d)
    }
}

struct SourcesVisitor<R>(PhantomData<R>);

impl<'de, R: Registry> Visitor<'de> for SourcesVisitor<R> {
    type Value = Sources;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[[source.KIND]] tables")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Sources, A::Error> {
        let mut kinds: Vec<(usize, Box<dyn Configured>)> = Vec::new();
        let mut unknown = Vec::new();
        while let Some(name) = map.next_key::<String>()? {
            match map.next_value_seed(KindSeed::<R>(&name, PhantomData))? {
                Some(found) => kinds.push(found),
                None => unknown.push(name),
            }
        }
        kinds.sort_by_key(|(order, _)| *order);
        Ok(Sources {
            kinds: kinds.into_iter().map(|(_, k)| k).collect(),
            unknown,
        })
    }
}

/// The tables of one `[source]` key: `Some((kind's place in the registry, tables))`, or `None`
/// (skipped) when no kind has that name.
struct KindSeed<'n, R>(&'n str, PhantomData<R>);

type Found = (usize, Box<dyn Configured>);

impl<'de, R: Registry> DeserializeSeed<'de> for KindSeed<'_, R> {
    type Value = Option<Found>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Option<Found>, D::Error> {
        let mut pick = Pick {
            name: self.0,
            place: 0,
            input: Some(d),
            read: None,
            _de: PhantomData,
        };
        R::visit(&mut pick);
        match (pick.read, pick.input) {
            (Some(read), _) => read.map(Some),
            (None, Some(d)) => IgnoredAny::deserialize(d).map(|_| None),
            (None, None) => Ok(None),
        }
    }
}

/// Reads the input with the kind named `name`, when the registry has it.
struct Pick<'n, 'de, D: Deserializer<'de>> {
    name: &'n str,
    place: usize,
    input: Option<D>,
    read: Option<Result<Found, D::Error>>,
    _de: PhantomData<&'de ()>,
}

impl<'de, D: Deserializer<'de>> Visit for Pick<'_, 'de, D> {
    fn kind<K: SourceKind>(&mut self) {
        if K::NAME == self.name {
            if let Some(d) = self.input.take() {
                let place = self.place;
                let tables = Vec::<K::Config>::deserialize(d);
                self.read = Some(tables.map(|t| (place, Box::new(Tables::<K>(t)) as _)));
            }
        }
        self.place += 1;
    }
}
