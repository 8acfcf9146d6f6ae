"""The loop: the prediction log (`log`: what was served, append-only, bounded and safe under
concurrent writers), the feedback store (`feedback`: validated human labels for training and
the retraining trigger), review (`review`: the least confident unreviewed predictions and the
answers a person gives), and the `digitrec.feedback.added` event (`events`); plain files under
DIGITREC_HOME; `store` holds what they share."""
