"""The loop: the prediction log (`log`: what was served, append-only, bounded and safe under
concurrent writers), the feedback store (`feedback`: validated human labels for training and
the retraining trigger), review (`review`: the most doubtful unreviewed predictions by margin
and a random share of random checks, chosen by `triage`, and the answers a person gives), and
the `digitrec.feedback.added` event (`events`); plain files under DIGITREC_HOME; `store` holds
what they share."""
