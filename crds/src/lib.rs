//! Custom resource types reconciled by the Bia operator.
