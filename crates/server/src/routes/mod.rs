//! Every route, registered through `routes!` so that each one is in the OpenAPI document.

pub mod campaigns;
pub mod consent;
pub mod corrections;
pub mod me;
pub mod meetings;
pub mod members;
pub mod merges;
pub mod meta;
pub mod session;
pub mod units;
pub mod verification;
pub mod volunteers;

use crate::AppState;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The routes with their OpenAPI description; one `routes!` per path.
pub fn api_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(crate::doc::base())
        .routes(routes!(meta::healthz))
        .routes(routes!(meta::openapi_json))
        .routes(routes!(units::get_unit))
        .routes(routes!(units::get_children))
        .routes(routes!(units::get_progress))
        .routes(routes!(members::enrol, members::list_members))
        .routes(routes!(members::get_member))
        .routes(routes!(campaigns::list_wings))
        .routes(routes!(
            campaigns::list_campaigns,
            campaigns::create_campaign
        ))
        .routes(routes!(campaigns::get_campaign))
        .routes(routes!(merges::get_duplicates))
        .routes(routes!(merges::create_merge))
        .routes(routes!(merges::undo_merge))
        .routes(routes!(consent::get_notice))
        .routes(routes!(consent::get_sensitive))
        .routes(routes!(session::login, session::whoami, session::logout))
        .routes(routes!(session::send_login_code))
        .routes(routes!(me::send_member_code))
        .routes(routes!(me::member_login))
        .routes(routes!(me::my_data))
        .routes(routes!(me::request_correction))
        .routes(routes!(corrections::list_corrections))
        .routes(routes!(corrections::apply_correction))
        .routes(routes!(corrections::decline_correction))
        .routes(routes!(me::withdraw_consent))
        .routes(routes!(me::erase_me))
        .routes(routes!(meetings::create_series))
        .routes(routes!(meetings::get_series))
        .routes(routes!(meetings::plan_series))
        .routes(routes!(meetings::series_ical))
        .routes(routes!(meetings::create_meeting))
        .routes(routes!(meetings::get_meeting))
        .routes(routes!(meetings::move_meeting))
        .routes(routes!(meetings::cancel_meeting))
        .routes(routes!(meetings::set_chair))
        .routes(routes!(meetings::decline_chair))
        .routes(routes!(meetings::file_report, meetings::get_report))
        .routes(routes!(meetings::acknowledge_report))
        .routes(routes!(meetings::return_report))
        .routes(routes!(meetings::inbox))
        .routes(routes!(meetings::escalate))
        .routes(routes!(meetings::compliance))
        .routes(routes!(meetings::unit_meetings))
        .routes(routes!(meetings::create_feed))
        .routes(routes!(meetings::revoke_feed))
        .routes(routes!(meetings::request_chair, meetings::list_requests))
        .routes(routes!(meetings::answer_request))
        .routes(routes!(meetings::create_charge, meetings::my_charges))
        .routes(routes!(meetings::end_charge))
        .routes(routes!(meetings::digest))
        .routes(routes!(meetings::add_contacts))
        .routes(routes!(meetings::list_contacts))
        .routes(routes!(meetings::assign_contact))
        .routes(routes!(meetings::contact_outcome))
        .routes(routes!(meetings::convert_contact))
        .routes(routes!(meetings::delete_contact))
        .routes(routes!(meetings::add_holiday))
        .routes(routes!(meetings::set_unavailable))
        .routes(routes!(meetings::set_report_chain))
        .routes(routes!(meetings::set_email))
        .routes(routes!(meetings::list_photos))
        .routes(routes!(meetings::list_points, meetings::create_point))
        .routes(routes!(meetings::get_point, meetings::edit_point))
        .routes(routes!(meetings::point_versions))
        .routes(routes!(meetings::attach_points))
        .routes(routes!(
            meetings::put_photo,
            meetings::get_photo,
            meetings::delete_photo
        ))
        .routes(routes!(volunteers::create_programme))
        .routes(routes!(volunteers::unit_programmes))
        .routes(routes!(volunteers::get_programme))
        .routes(routes!(volunteers::add_duty))
        .routes(routes!(volunteers::assign_duty))
        .routes(routes!(volunteers::answer_duty))
        .routes(routes!(volunteers::my_duties))
        .routes(routes!(volunteers::my_code))
        .routes(routes!(volunteers::my_code_svg))
        .routes(routes!(volunteers::check_in))
        .routes(routes!(volunteers::check_out))
        .routes(routes!(volunteers::add_incident))
        .routes(routes!(volunteers::programme_summary))
        .routes(routes!(volunteers::my_unavailable))
        .routes(routes!(volunteers::activation))
        .routes(routes!(
            volunteers::make_followups,
            volunteers::unit_followups
        ))
        .routes(routes!(volunteers::my_followups))
        .routes(routes!(volunteers::followup_outcome))
        .routes(routes!(
            volunteers::post_bulletin,
            volunteers::bulletin_feed
        ))
        .routes(routes!(volunteers::get_bulletin))
        .routes(routes!(volunteers::add_comment))
        .routes(routes!(volunteers::hide_comment))
        .routes(routes!(volunteers::my_unread))
        .routes(routes!(verification::queue))
        .routes(routes!(verification::set_status))
        .routes(routes!(verification::set_status_batch))
        .routes(routes!(verification::send_code))
        .routes(routes!(verification::confirm_code))
        .routes(routes!(verification::request_missed_call))
        .routes(routes!(verification::inbound))
        .routes(routes!(verification::member_confirm))
        .routes(routes!(verification::flags))
        .routes(routes!(verification::leaderboard))
        .routes(routes!(verification::resolve_flag))
        .routes(routes!(verification::detect))
}
