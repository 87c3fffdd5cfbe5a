"""Neural network building blocks of the course (models only: no training, no drawing)."""

from course_lib.nn.classifier import AttributeClassifier

__all__ = ["AttributeClassifier"]
