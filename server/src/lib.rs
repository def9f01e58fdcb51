//! Bia identity server library.
