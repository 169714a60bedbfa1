# kata-cc default attestation policy (AR4SI trust vector for the EAR token).
#
# input: the verified claims, keyed by TEE (`input.tdx`, `input.snp`, `input.sample`) plus
#        `report_data`, `runtime_data_claims`, `init_data`, `init_data_claims` (Trustee's layout).
# data.reference: reference values provisioned through the admin API, name -> [accepted values].
#
# Each rule below is one trust-vector claim; the EAR status is the worst tier of the set claims:
# affirming (2..31), warning (32..95), contraindicated (96..127).
package policy

import rego.v1

# 33: "Runtime memory includes executables, scripts, files, and/or objects which are not recognized."
default executables := 33

# 97: "A Verifier does not recognize an Attester's hardware or firmware, but it should be recognized."
default hardware := 97

# 36: "Elements of the configuration relevant to security are unavailable to the Verifier."
default configuration := 36

# A claim value is accepted when the reference value `name` lists it.
accepted(name, value) if value in data.reference[name]

##### sample (proves nothing; the default resource policy refuses it)

executables := 3 if accepted("sample.svn", input.sample.svn)

hardware := 2 if input.sample.svn

configuration := 2 if {
	input.sample
	input.report_data
}

##### SNP

# 3: "Only a recognized genuine set of approved executables have been loaded during the boot process."
executables := 3 if accepted("snp.measurement", input.snp.measurement)

# 2: "An Attester has passed its hardware and/or firmware verifications needed to demonstrate that
# these are genuine/supported." (the verifier checked the VCEK chain and REPORTED_TCB)
hardware := 2 if {
	is_number(input.snp.reported_tcb_bootloader)
	is_number(input.snp.reported_tcb_microcode)
	is_number(input.snp.reported_tcb_snp)
	is_number(input.snp.reported_tcb_tee)
}

# 2: "The configuration is a known and approved config."
configuration := 2 if {
	input.snp.policy_debug_allowed == false
	input.snp.policy_migrate_ma == false
	input.snp.vmpl == 0
}

##### TDX

executables := 3 if {
	accepted("tdx.mr_td", input.tdx.quote.body.mr_td)
	accepted("tdx.rtmr_1", input.tdx.quote.body.rtmr_1)
	accepted("tdx.rtmr_2", input.tdx.quote.body.rtmr_2)
}

hardware := 2 if {
	input.tdx.quote.header.tee_type == "81000000"
	input.tdx.quote.header.vendor_id == "939a7233f79c4ca9940a0db3957f0607"
	input.tdx.tcb_status in {"UpToDate", "SWHardeningNeeded"}
}

configuration := 2 if {
	input.tdx.td_attributes.debug == false
	input.tdx.quote.body.xfam
}
