"""Shapes, column names and label names shared by every stage."""

IMAGE_SIZE = 28
IMAGE_SHAPE = (IMAGE_SIZE, IMAGE_SIZE, 1)
NUM_PIXELS = IMAGE_SIZE * IMAGE_SIZE
PIXEL_MAX = 255  # uint8 pixels run 0..PIXEL_MAX
NUM_CLASSES = 10
DIGITS = tuple(range(NUM_CLASSES))
LABEL_COLUMN = "label"
PIXEL_COLUMNS = tuple(f"pixel{i}" for i in range(NUM_PIXELS))
TRAIN_COLUMNS = (LABEL_COLUMN, *PIXEL_COLUMNS)
SUBMISSION_COLUMNS = ("ImageId", "Label")
LABEL_NAMES = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")

# The Kaggle Digit Recognizer split of the 70,000 MNIST images.
KAGGLE_TRAIN_ROWS = 42_000
KAGGLE_TEST_ROWS = 28_000
