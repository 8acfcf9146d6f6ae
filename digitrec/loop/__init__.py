"""The loop: the prediction log (`log`: what was served, append-only, bounded and safe under
concurrent writers) and the feedback store (`feedback`: validated human labels for training and
the retraining trigger), plain files under DIGITREC_HOME; `store` holds what the two share."""
