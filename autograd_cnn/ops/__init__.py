"""Detection building blocks (torchvision.ops names): boxes, IoU, non-max suppression, box
encoding, mean average precision, and the sliding window as a convolution.

    boxes    box_area, box_convert, box_iou, nms, batched_nms, encode_boxes, decode_boxes,
             average_precision, mean_average_precision
    sliding  fc_to_conv, convolutionalize, sliding_window_scores
    yolo     yolo_encode, yolo_loss, yolo_decode (a YOLOv1-style grid detector)
"""

from .boxes import (average_precision, batched_nms, box_area, box_convert, box_iou,
                    decode_boxes, encode_boxes, mean_average_precision, nms)
from .sliding import convolutionalize, fc_to_conv, sliding_window_scores
from .yolo import yolo_decode, yolo_encode, yolo_loss

__all__ = ["box_area", "box_convert", "box_iou", "nms", "batched_nms", "encode_boxes",
           "decode_boxes", "average_precision", "mean_average_precision", "fc_to_conv",
           "convolutionalize", "sliding_window_scores", "yolo_encode", "yolo_loss",
           "yolo_decode"]
