//! Members in spreadsheets: reading CSV and XLSX files as they come from party offices
//! ([`sheet`]), importing them in batches through the store ([`bulk`]), and writing exports
//! ([`export`]). Used by the `sangathan` CLI and by the web app's import and export pages; each
//! long job reports its progress through a callback (a progress bar, a status page).

pub mod bulk;
pub mod export;
pub mod sheet;
