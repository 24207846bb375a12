// The signing secret shared by the test webhook scorer (scorer-server.ts) and the tests that call it.
export const TEST_SCORER_SECRET = `whsec_${btoa("tessera test scorer secret!!")}`;
