// `sqlx::migrate!` embeds the migration files at compile time; a new file in the folder must
// rebuild this crate (sqlx's documented build script for it).
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
