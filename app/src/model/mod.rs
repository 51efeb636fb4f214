//! Domain types shared by the server and the browser: what the REST API and
//! the server functions send, and what the UI renders.

/// Declares a string-valued enum with its wire names, `ALL`, `as_str`,
/// `Display` and `FromStr` in one place, so the API, the database and the UI
/// can never disagree on the spelling.
macro_rules! wire_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $wire:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, ::serde::Serialize, ::serde::Deserialize)]
        pub enum $name {
            $($(#[$vmeta])* #[serde(rename = $wire)] $variant),+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The wire name (API, database, CLI).
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $wire),+ }
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $name {
            type Err = String;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($wire => Ok($name::$variant),)+
                    _ => Err(format!(
                        "unknown {} `{s}`: expected one of {}",
                        stringify!($name).to_lowercase(),
                        [$($wire),+].join(", ")
                    )),
                }
            }
        }
    };
}

mod account;
mod agent;
mod conversation;
mod live;
mod project;
mod terminal;
mod ticket;

pub use account::*;
pub use agent::*;
pub use conversation::*;
pub use live::*;
pub use project::*;
pub use terminal::*;
pub use ticket::*;
