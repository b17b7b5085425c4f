#![no_main]

libfuzzer_sys::fuzz_target!(
    |data: &[u8]| callvault_testkit::fuzz_api::archive_json_and_user_record(data)
);
